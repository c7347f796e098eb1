// Generated forms: add and remove the rows of an array parameter by cloning the row
// <template> the server rendered. Without JavaScript, "Add a row" submits the form and the
// server shows it again one row longer, input kept. Also masks secrets before htmx posts the
// form to refresh the command preview, so a secret never leaves the page for a preview.
// After a failed submit, focus goes to the error summary, and each of its links focuses its
// field (a plain link would only scroll to it).
(function () {
  const MASK = "********";
  const ROW = ".array-row";

  function renumber(rows) {
    rows.querySelectorAll(":scope > " + ROW).forEach(function (row, index) {
      row.querySelectorAll("[data-label]").forEach(function (element) {
        element.setAttribute("aria-label", element.dataset.label.replace("{n}", index + 1));
      });
      if (row.dataset.label) row.setAttribute("aria-label", row.dataset.label.replace("{n}", index + 1));
    });
  }

  function changed(rows) {
    rows.dispatchEvent(new Event("rows-changed", { bubbles: true }));
  }

  function wireRow(rows, row) {
    const remove = row.querySelector(".remove-row");
    if (!remove) return;
    remove.hidden = false;
    remove.addEventListener("click", function () {
      const next = row.nextElementSibling;
      row.remove();
      renumber(rows);
      const focus = next && next.matches(ROW) ? next.querySelector("input, select") : null;
      (focus || rows.querySelector(":scope > .add-row")).focus();
      changed(rows);
    });
  }

  function wire(rows) {
    if (rows.dataset.wired) return;
    rows.dataset.wired = "true";
    const template = rows.querySelector(":scope > template.row-template");
    const add = rows.querySelector(":scope > .add-row");
    rows.querySelectorAll(":scope > " + ROW).forEach(function (row) { wireRow(rows, row); });
    if (!template || !add) return;
    add.addEventListener("click", function (event) {
      event.preventDefault();
      const index = String(Number(rows.dataset.next || 0));
      rows.dataset.next = String(Number(index) + 1);
      const row = template.content.firstElementChild.cloneNode(true);
      row.querySelectorAll("[name], [id], [for]").forEach(function (element) {
        for (const attribute of ["name", "id", "for"]) {
          const value = element.getAttribute(attribute);
          if (value) element.setAttribute(attribute, value.replace("__index__", index));
        }
      });
      rows.insertBefore(row, template);
      wireRow(rows, row);
      renumber(rows);
      row.querySelector("input, select").focus();
      changed(rows);
    });
  }

  function wireAll(root) {
    root.querySelectorAll("div.array-rows").forEach(wire);
  }

  function focusSummary(root) {
    const summary = root.querySelector("#error-summary");
    if (summary) summary.focus();
  }

  wireAll(document);
  focusSummary(document);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    wireAll(event.detail.target);
    focusSummary(event.detail.target);
  });

  document.addEventListener("click", function (event) {
    const link = event.target.closest("#error-summary a[data-focus]");
    const field = link && document.getElementById(link.dataset.focus);
    if (!field) return;
    event.preventDefault();
    field.scrollIntoView({ block: "center" });
    field.focus();
  });

  document.body.addEventListener("htmx:configRequest", function (event) {
    const form = document.getElementById(event.detail.elt.dataset.previewOf || "");
    if (!form) return;
    form.querySelectorAll("input[type=password]").forEach(function (input) {
      if (input.name) event.detail.parameters[input.name] = input.value ? MASK : "";
    });
  });
})();
