// API keys page: copy the new key to the clipboard, and add/remove metadata rows. Without
// JavaScript the page offers three blank rows and the key can be selected by hand.
(function () {
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", async function () {
      const input = document.getElementById(button.dataset.copyFrom);
      const note = button.closest("section").querySelector(".copied");
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (error) {
        input.select(); // no clipboard access (plain HTTP): leave it selected for Ctrl-C
        document.execCommand("copy");
      }
      note.textContent = "Copied.";
    });
  });

  const rows = document.getElementById("metadata-rows");
  const add = document.getElementById("add-metadata-row");
  if (!rows || !add) return;
  function wire(row) {
    const remove = row.querySelector(".remove-row");
    remove.hidden = false;
    remove.addEventListener("click", function () { row.remove(); });
  }
  rows.querySelectorAll(".meta-row").forEach(wire);
  add.hidden = false;
  add.addEventListener("click", function () {
    const row = rows.querySelector(".meta-row").cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    rows.appendChild(row);
    wire(row);
    row.querySelector("input").focus();
  });
})();
