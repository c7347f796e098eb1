// Rule editor: add and remove criteria rows; hide the no-JavaScript "load parameters" button,
// since htmx reloads the parameter forms when the trigger type or the action changes (this file
// sends the form the "reload-parameters" event it listens for: an hx-trigger filter would be
// code that htmx evaluates, which the Content-Security-Policy forbids). A parameter's "Use a
// Jinja expression" button reloads the editor with htmx too (without JavaScript it posts the
// form, which comes back the same way). Rule page: the "Copy" button of the webhook's curl call.
(function () {
  const RELOADING_FIELDS = ["trigger_type", "action_ref"];
  const form = document.querySelector("form.rule-form");
  if (form) {
    form.addEventListener("change", function (event) {
      if (RELOADING_FIELDS.includes(event.target.name)) {
        form.dispatchEvent(new Event("reload-parameters"));
      }
    });
    form.addEventListener("click", function (event) {
      const toggle = event.target.closest("button.jinja-toggle");
      if (!toggle || !window.htmx) return;
      event.preventDefault();
      window.htmx.ajax("POST", form.getAttribute("hx-post"), {
        source: form,
        target: "#rule-editor",
        swap: "outerHTML",
        values: { reload: "1", jinja_toggle: toggle.value },
      });
    });
  }

  function renumberRow(row, index) {
    row.setAttribute("aria-label", "Criterion " + (index + 1));
    row.querySelectorAll("[id], [for], [aria-describedby]").forEach(function (element) {
      for (const attribute of ["id", "for", "aria-describedby"]) {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(/^criteria-\d+-/, "criteria-" + index + "-"));
      }
    });
    const remove = row.querySelector(".remove-row");
    if (remove) remove.setAttribute("aria-label", "Remove criterion " + (index + 1));
  }

  function wire(root) {
    const rows = root.querySelector("#criteria-rows");
    const add = root.querySelector("#add-criteria-row");
    const reload = root.querySelector("button.reload");
    if (reload) reload.hidden = true;
    if (!rows || !add) return;
    function renumberAll() {
      const all = rows.querySelectorAll(".criteria-row");
      all.forEach(renumberRow);
      rows.dataset.next = String(all.length);
    }
    function wireRow(row) {
      const remove = row.querySelector(".remove-row");
      remove.hidden = false;
      remove.onclick = function () {
        const next = row.nextElementSibling;
        if (rows.querySelectorAll(".criteria-row").length === 1) {  // kept to clone: emptied
          row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
          row.querySelector("input").focus();
          return;
        }
        row.remove();
        renumberAll();
        (next ? next.querySelector("input") : add).focus();
      };
    }
    rows.querySelectorAll(".criteria-row").forEach(wireRow);
    add.hidden = false;
    add.onclick = function () {
      const row = rows.querySelector(".criteria-row").cloneNode(true);
      row.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.classList.remove("is-invalid");
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      });
      row.querySelectorAll(".invalid-feedback").forEach(function (error) { error.remove(); });
      rows.appendChild(row);
      renumberAll();
      wireRow(row);
      row.querySelector("input").focus();
    };
  }
  wire(document);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    wire(event.detail.target.parentElement || document);
    const switched = document.querySelector("#rule-editor [autofocus]");  // after a Jinja switch
    if (switched) switched.focus();
  });

  document.querySelectorAll("button.copy").forEach(function (button) {
    const source = document.getElementById(button.dataset.copy || "");
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = "Copied";
      });
    });
  });
})();
