// Search as you type: after a short pause, fetch this same page with the new ?q= and swap in
// its list, so the server's search is the only search. The URL keeps the query; without
// JavaScript the form submits as a plain GET.
(function () {
  const input = document.querySelector("input[data-filter]");
  if (!input) return;
  const form = input.form;
  let timer = null;
  let latest = 0;

  async function refresh() {
    const url = new URL(form.action, window.location.href);
    const query = input.value.trim();
    if (query) url.searchParams.set("q", query);
    const ticket = ++latest;
    const response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    if (!response.ok || response.redirected) { form.submit(); return; }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    if (ticket !== latest) return; // a newer query is on its way
    for (const id of [input.dataset.filter.slice(1), "action-count"]) {
      const fresh = page.getElementById(id);
      const current = document.getElementById(id);
      if (fresh && current) current.replaceWith(fresh);
    }
    window.history.replaceState(null, "", url);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
