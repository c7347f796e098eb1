// Times local to the viewer. Every <time datetime="..."> on the page (the `time_tag` template
// filter renders them with the exact UTC time as their text) reads as relative text, "3 minutes
// ago" or "in 2 days", in the browser's language, with the exact local and UTC times in its
// title. Times that arrive later (htmx swaps, live updates fetched by other scripts) are caught
// by a MutationObserver, and the texts are brought up to date every 30 seconds while the page
// is visible. Without JavaScript the exact UTC time stays.
(function () {
  if (!window.Intl || !Intl.RelativeTimeFormat) return;
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const local = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });
  const UNITS = [
    ["year", 365 * 86400],
    ["month", 30 * 86400],
    ["week", 7 * 86400],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
    ["second", 1],
  ];
  const NOW_WITHIN = 5; // seconds either way read as "now" (clocks are never quite in step)

  function phrase(moment) {
    const seconds = (moment - Date.now()) / 1000;
    if (Math.abs(seconds) < NOW_WITHIN) return relative.format(0, "second");
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size || unit === "second") {
        return relative.format(Math.trunc(seconds / size) || 0, unit);
      }
    }
  }

  function utcText(moment) {
    return new Date(moment).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function show(element) {
    const moment = Date.parse(element.getAttribute("datetime"));
    if (Number.isNaN(moment)) return; // not a point in time (a duration, say): left alone
    const text = phrase(moment);
    if (element.textContent !== text) element.textContent = text;
    if (!element.dataset.relative) {
      element.dataset.relative = "true";
      element.title = `${local.format(moment)}\n${utcText(moment)}`;
    }
  }

  function showAll(root) {
    if (root.matches && root.matches("time[datetime]")) show(root);
    if (root.querySelectorAll) root.querySelectorAll("time[datetime]").forEach(show);
  }

  showAll(document);
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (node.nodeType === Node.ELEMENT_NODE) showAll(node);
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
  setInterval(() => {
    if (!document.hidden) showAll(document);
  }, 30000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) showAll(document);
  });
})();
