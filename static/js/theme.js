// The colour theme: Light, Dark or System (the default), chosen in the navigation's Theme menu
// and kept in localStorage. Loaded as a blocking script in <head> (no inline script under the
// Content-Security-Policy), so the stored theme applies before the page is painted.
(function () {
  "use strict";
  const KEY = "portal-theme";
  const CHOICES = ["light", "dark", "auto"];
  const dark = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try {
      const value = window.localStorage.getItem(KEY);
      return CHOICES.includes(value) ? value : "auto";
    } catch (error) {
      return "auto"; // storage refused (privacy settings): follow the system
    }
  }

  function apply(choice) {
    const theme = choice === "auto" ? (dark.matches ? "dark" : "light") : choice;
    document.documentElement.setAttribute("data-bs-theme", theme);
  }

  function show(menu, choice) {
    menu.querySelectorAll("[data-theme-value]").forEach(function (button) {
      const chosen = button.dataset.themeValue === choice;
      button.classList.toggle("active", chosen);
      button.setAttribute("aria-pressed", String(chosen));
    });
    const label = menu.querySelector("[data-theme-label]");
    if (label) label.textContent = menu.querySelector(`[data-theme-value="${choice}"]`).textContent;
  }

  apply(stored());
  dark.addEventListener("change", function () { apply(stored()); });

  document.addEventListener("DOMContentLoaded", function () {
    const menu = document.getElementById("theme-switch");
    if (!menu) return;
    menu.hidden = false; // without JavaScript the menu could do nothing: it stays hidden
    show(menu, stored());
    menu.querySelectorAll("[data-theme-value]").forEach(function (button) {
      button.addEventListener("click", function () {
        const choice = button.dataset.themeValue;
        try {
          window.localStorage.setItem(KEY, choice);
        } catch (error) {
          // not kept across pages, but applied to this one
        }
        apply(choice);
        show(menu, choice);
      });
    });
  });
})();
