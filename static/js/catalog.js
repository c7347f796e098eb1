// Search as you type on the Actions page: after a short pause, fetch this same page with the
// form's fields (?q=, and ?pack= on a pack's actions) and swap in its results, count and
// field error, so the server's search is the only search. The address bar follows
// (history.replaceState): reloading, sharing the address or coming back to it shows the same
// results. Without JavaScript the form submits as a plain GET.
(function () {
  const input = document.querySelector("input[data-results]");
  if (!input) return;
  const form = input.form;
  let timer = null;
  let pending = null;

  function address() {
    const url = new URL(form.action, window.location.href);
    for (const [name, value] of new FormData(form)) {
      const text = String(value).trim();
      if (text) url.searchParams.set(name, text);
    }
    return url;
  }

  function swap(page, selector) {
    const fresh = page.querySelector(selector);
    const current = document.querySelector(selector);
    if (fresh && current) current.replaceWith(fresh);
  }

  async function refresh() {
    const url = address();
    if (pending) pending.abort(); // a newer query replaces the one on its way
    const request = (pending = new AbortController());
    let response;
    try {
      response = await fetch(url, {
        headers: { Accept: "text/html" },
        credentials: "same-origin",
        signal: request.signal,
      });
    } catch (error) {
      if (error.name !== "AbortError") form.submit();
      return;
    }
    // Signed out meanwhile, or an error page: let the browser show it.
    if (response.redirected || (!response.ok && response.status !== 400)) {
      form.submit();
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    if (request.signal.aborted) return;
    swap(page, input.dataset.results);
    const count = page.getElementById("action-count");
    if (count) document.getElementById("action-count").textContent = count.textContent;
    const problem = page.getElementById("q-problem");
    document.getElementById("q-problem").textContent = problem ? problem.textContent : "";
    input.classList.toggle("is-invalid", response.status === 400);
    if (response.status === 400) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    window.history.replaceState(null, "", url);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
