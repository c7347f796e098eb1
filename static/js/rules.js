// Rule editor: add and remove criteria rows; hide the no-JavaScript "load parameters" button,
// since htmx reloads the parameter forms when the trigger type or the action changes (this file
// sends the form the "reload-parameters" event it listens for: an hx-trigger filter would be
// code that htmx evaluates, which the Content-Security-Policy forbids).
(function () {
  const RELOADING_FIELDS = ["trigger_type", "action_ref"];
  const form = document.querySelector("form.rule-form");
  if (form) {
    form.addEventListener("change", function (event) {
      if (RELOADING_FIELDS.includes(event.target.name)) {
        form.dispatchEvent(new Event("reload-parameters"));
      }
    });
  }

  function wire(root) {
    const rows = root.querySelector("#criteria-rows");
    const add = root.querySelector("#add-criteria-row");
    const reload = root.querySelector("button.reload");
    if (reload) reload.hidden = true;
    if (!rows || !add) return;
    function wireRow(row) {
      const remove = row.querySelector(".remove-row");
      remove.hidden = false;
      remove.onclick = function () { row.remove(); };
    }
    rows.querySelectorAll(".criteria-row").forEach(wireRow);
    add.hidden = false;
    add.onclick = function () {
      const row = rows.querySelector(".criteria-row").cloneNode(true);
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      rows.appendChild(row);
      wireRow(row);
      row.querySelector("input").focus();
    };
  }
  wire(document);
  document.body.addEventListener("htmx:afterSwap", function (event) { wire(event.detail.target.parentElement || document); });
})();
