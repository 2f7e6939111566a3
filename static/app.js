// Maillon's only script besides htmx: progressive touches, no inline handlers (CSP).
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
