// The history, live: while the page is visible, htmx fetches its results (#history: the count,
// the rows and the pager) again from this page's own URL, so the filters and the page are kept,
// and swaps them in. Every 3 s while a listed execution runs (data-live="fast"), every 20 s
// otherwise ("slow": new executions still appear), never when the filters are wrong ("off").
// A hidden page asks nothing, and asks at once when it is shown again. htmx puts the focus
// back on a link whose id comes back. Without JavaScript the page is as the server sent it.
(function () {
  const EVERY = { fast: 3000, slow: 20000 };
  let last = Date.now();

  function refresh() {
    const box = document.getElementById("history");
    if (!box || document.hidden || !window.htmx) return;
    last = Date.now();
    window.htmx.trigger(box, "refresh");
  }

  setInterval(() => {
    const box = document.getElementById("history");
    const every = box && EVERY[box.dataset.live];
    if (every && Date.now() - last >= every) refresh();
  }, 1000);
  document.addEventListener("visibilitychange", () => {
    const box = document.getElementById("history");
    if (!document.hidden && box && EVERY[box.dataset.live]) refresh();
  });
})();
