// While an execution runs, fetch its status partial every second and swap it in, so status
// and output update without a full reload. Stops once the execution has finished. Without
// JavaScript the page refreshes itself (a <noscript> meta refresh) while running.
(function () {
  const box = document.getElementById("execution");
  if (!box) return;
  const url = box.dataset.statusUrl;

  async function poll() {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    } catch (error) {
      setTimeout(poll, 3000); // network hiccup: try again a little later
      return;
    }
    if (response.redirected || response.status === 401 || response.status === 403) {
      window.location.reload(); // signed out: let the full page send us to the login page
      return;
    }
    if (response.ok) {
      const html = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = html.getElementById("execution-status");
      const current = document.getElementById("execution-status");
      if (fresh && current) {
        current.replaceWith(document.adoptNode(fresh));
        if (fresh.dataset.running !== "true") return;
      }
    }
    setTimeout(poll, 1000);
  }

  setTimeout(poll, 1000);
})();
