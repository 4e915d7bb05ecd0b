// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = button.getAttribute("data-copy");
  navigator.clipboard?.writeText(text).then(() => {
    const label = button.textContent;
    button.textContent = button.dataset.copiedLabel || "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
// Organisation tree: collapsing hides loaded children without a request; the first expansion
// of a node fetches them (hx-get with "click once" on the same button).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-tree-toggle]");
  if (!button) return;
  const list = document.getElementById(button.getAttribute("aria-controls"));
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  if (list) list.hidden = !open;
});
// Organisation picker: a ticked search result moves to the chosen list, so the next search
// does not wipe it out; Enter in the search box searches instead of submitting the form.
document.addEventListener("change", (event) => {
  const input = event.target;
  const picker = input.closest("[data-org-picker]");
  if (!picker || !input.checked || !input.closest(".org-picker-results")) return;
  const item = input.closest("li");
  const chosen = picker.querySelector(".org-picker-selected");
  if (picker.dataset.mode === "radio") chosen.replaceChildren();
  item.querySelectorAll("input[data-org]").forEach((box) => { box.checked = true; });
  chosen.append(item);
});
// Enter in a search box searches (htmx) instead of submitting the form around it.
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.matches("[data-org-search], [data-recipient-search]")) {
    event.preventDefault();
  }
});
// After a search match was picked: clear the matches and the search box, back to the field.
function afterPick(button, field, searchSelector) {
  const search = button.closest("form").querySelector(searchSelector);
  button.closest("ul").replaceChildren();
  if (search) search.value = "";
  field.focus();
}
// "Add field" on formset pages: clone the <template> row, numbering it like Django does.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const form = button.closest("form");
  const template = form.querySelector("template[id$='-empty-row']");
  const total = form.querySelector("input[name$='-TOTAL_FORMS']");
  if (!template || !total) return;
  const index = parseInt(total.value, 10);
  const html = template.innerHTML.replace(/__prefix__/g, String(index));
  const rows = form.querySelector("tbody[id$='-rows']");
  rows.insertAdjacentHTML("beforeend", html);
  total.value = String(index + 1);
  // A row may carry htmx attributes (step 3's department name lookup): let htmx see them.
  if (window.htmx) window.htmx.process(rows.lastElementChild);
});
// Step 3's organisation search: a match fills the first empty organisation field (adding a
// row when none is empty), then announces the change so the tree preview refreshes.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-fill-org]");
  if (!button) return;
  const form = button.closest("form");
  const empty = () => [...form.querySelectorAll("input[data-org-field]")].find((f) => !f.value.trim());
  let field = empty();
  if (!field) {
    form.querySelector("[data-add-row]")?.click();
    field = empty();
  }
  if (!field) return;
  field.value = button.getAttribute("data-fill-org");
  field.dispatchEvent(new Event("change", { bubbles: true }));
  afterPick(button, field, "[data-org-search]");
});
// Notification recipients: a search match adds its userid to the recipients field (once).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-recipient]");
  if (!button) return;
  const field = button.closest("form")?.querySelector("textarea[name='dingtalk_userids']");
  if (!field) return;
  const userid = button.getAttribute("data-add-recipient");
  const chosen = field.value.split(/[\s,;，；、]+/).filter(Boolean);
  if (!chosen.includes(userid)) chosen.push(userid);
  field.value = chosen.join(", ");
  afterPick(button, field, "[data-recipient-search]");
});
