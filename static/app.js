// Maillon's deferred script (with htmx; static/early.js runs first): progressive touches,
// no inline handlers (CSP).
// Every page works without it; what it adds, and the markup that asks for it:
//
// - Menu: in static/early.js, so that the button works from the first paint.
// - Tables as cards: below 600 px every <td>/<th> of a table body gets data-label, the
//   text of its column's header (colspan counted), and app.css shows each row as a card
//   with "label: value" lines. A table that must keep its grid: class "keep-table" (then
//   put it in an overflow container, e.g. <div class="table-scroll">).
// - Error summary: a <div class="error-summary"> (macro error_summary of _form.html) is
//   scrolled into view and focused on load and after an htmx swap; its links focus the
//   field (by id, else by the name in data-field).
// - Confirmation before a form is sent:
//     <form data-confirm="Delete this lot?">  (or <button data-confirm="…"> for that
//     button only) opens a dialog (texts "Confirm"/"Cancel" from the
//     <template id="confirm-template"> in base.html); "Cancel" sends nothing.
//   Threshold variant, asked only when the field's number exceeds the threshold
//   (a decimal comma is read too), "%s" replaced by the value typed:
//     <form data-confirm-over="50" data-confirm-field="kg"
//           data-confirm-template="Reserve %s kg?">
//   Works for plain and htmx forms (the submit event is held in the capture phase and
//   the form re-submitted with requestSubmit once confirmed).

// -- conditional fields ----------------------------------------------------------------

document.addEventListener("change", (event) => {
  // Show the minimum-part field only for divisible lots.
  const box = event.target.closest("[data-toggles]");
  if (!box) return;
  const target = document.getElementById(box.dataset.toggles);
  if (target) target.hidden = !box.checked;
});

document.addEventListener("change", (event) => {
  // Show a field only for some choices of a select (the kind of meat or fish, and the
  // label's temperature for chilled or frozen lots).
  const select = event.target.closest("select[data-shows]");
  if (!select) return;
  const target = document.getElementById(select.dataset.shows);
  if (target) target.hidden = !select.dataset.showsFor.split(" ").includes(select.value);
});

// -- tables as cards on a phone --------------------------------------------------------

function headerTexts(table) {
  // The texts of the last header row, one per column (a colspan repeats its text).
  const rows = table.tHead ? table.tHead.rows : [];
  if (!rows.length) return null;
  const texts = [];
  for (const cell of rows[rows.length - 1].cells) {
    const text = cell.textContent.replace(/\s+/g, " ").trim();
    for (let i = 0; i < (cell.colSpan || 1); i += 1) texts.push(text);
  }
  return texts;
}

function labelTables(root) {
  const scope = root && root.querySelectorAll ? root : document;
  const tables = [...scope.querySelectorAll("table")];
  if (scope.matches && scope.matches("table")) tables.push(scope);
  const parentTable = scope.closest && scope.closest("table");
  if (parentTable) tables.push(parentTable);
  for (const table of tables) {
    if (table.classList.contains("keep-table")) continue;
    const texts = headerTexts(table);
    if (!texts) continue;
    table.classList.add("stacks");
    for (const body of [...table.tBodies, ...(table.tFoot ? [table.tFoot] : [])]) {
      for (const row of body.rows) {
        let column = 0;
        for (const cell of row.cells) {
          // A cell across the whole row ("nothing yet") needs no label.
          const text = cell.colSpan >= texts.length && texts.length > 1 ? "" : texts[column];
          if (text && !cell.hasAttribute("data-label")) cell.dataset.label = text;
          column += cell.colSpan || 1;
        }
      }
    }
  }
}

// -- error summary -----------------------------------------------------------------------

function showErrorSummary(root) {
  const scope = root && root.querySelector ? root : document;
  const summary = (scope.matches && scope.matches(".error-summary")) ? scope : scope.querySelector(".error-summary");
  if (!summary) return;
  summary.scrollIntoView({ block: "start" });
  summary.focus({ preventScroll: true });
}

function fieldFor(link) {
  const id = decodeURIComponent(link.getAttribute("href").slice(1));
  let element = id ? document.getElementById(id) : null;
  const focusable = "input:not([type=hidden]), select, textarea, button";
  if (element && !element.matches(focusable)) element = element.querySelector(focusable);
  if (element) return element;
  const name = link.dataset.field;
  if (!name) return null;
  const summary = link.closest(".error-summary");
  const form = summary.closest("form") || (summary.nextElementSibling && summary.nextElementSibling.closest("form"))
    || summary.parentElement.querySelector("form");
  const scope = form || document;
  const selector = `[name="${CSS.escape(name)}"]:not([type=hidden])`;
  return scope.querySelector(selector) || document.querySelector(selector);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a[href^='#']");
  if (!link) return;
  const field = fieldFor(link);
  if (!field) return;
  event.preventDefault();
  // A field inside a closed <details> or a hidden block is shown first.
  const details = field.closest("details:not([open])");
  if (details) details.open = true;
  const label = field.id ? document.querySelector(`label[for="${CSS.escape(field.id)}"]`) : field.closest("label");
  (label || field).scrollIntoView({ block: "center" });
  field.focus({ preventScroll: true });
});

// -- confirmation before sending a form ----------------------------------------------

let dialog = null;

function confirmDialog() {
  if (dialog) return dialog;
  const template = document.getElementById("confirm-template");
  if (!template || typeof HTMLDialogElement === "undefined") return null;
  dialog = template.content.firstElementChild.cloneNode(true);
  document.body.appendChild(dialog);
  dialog.addEventListener("click", (event) => {
    const button = event.target.closest("button[value]");
    if (button) dialog.close(button.value);
  });
  return dialog;
}

function readNumber(text) {
  const cleaned = String(text || "").replace(/\s/g, "").replace(",", ".");
  const value = Number.parseFloat(cleaned);
  return Number.isFinite(value) ? value : null;
}

function questionFor(form, submitter) {
  if (submitter && submitter.dataset.confirm) return submitter.dataset.confirm;
  if (form.dataset.confirm) return form.dataset.confirm;
  if (form.dataset.confirmOver && form.dataset.confirmField) {
    const field = form.elements.namedItem(form.dataset.confirmField);
    const typed = field && "value" in field ? field.value.trim() : "";
    const value = readNumber(typed);
    if (value !== null && value > readNumber(form.dataset.confirmOver)) {
      return (form.dataset.confirmTemplate || "%s ?").replace("%s", typed);
    }
  }
  return null;
}

const confirmed = new WeakSet();

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (confirmed.has(form)) {
    confirmed.delete(form);
    return;
  }
  const submitter = event.submitter || null;
  const question = questionFor(form, submitter);
  if (!question) return;
  const box = confirmDialog();
  if (!box) {
    if (!window.confirm(question)) { event.preventDefault(); event.stopImmediatePropagation(); }
    return;
  }
  event.preventDefault();
  event.stopImmediatePropagation();
  box.querySelector(".confirm-question").textContent = question;
  box.returnValue = "";
  box.addEventListener("close", () => {
    if (box.returnValue !== "confirm") {
      if (submitter) submitter.focus();
      return;
    }
    confirmed.add(form);
    if (submitter && submitter.form === form) form.requestSubmit(submitter);
    else form.requestSubmit();
  }, { once: true });
  box.showModal();
}, true);

// -- on load and after every htmx swap -----------------------------------------------

function enhance(root, loaded) {
  labelTables(root);
  if (loaded) showErrorSummary(root);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => enhance(document, true));
} else {
  enhance(document, true);
}
// htmx:load fires on every element htmx adds (and once on <body> when it starts).
document.addEventListener("htmx:load", (event) => {
  if (event.target !== document.body) enhance(event.target, true);
});
