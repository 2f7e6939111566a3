// Maillon's only script besides htmx: progressive touches, no inline handlers (CSP).
document.addEventListener("change", (event) => {
  // Show the minimum-part field only for divisible lots.
  const box = event.target.closest("[data-toggles]");
  if (!box) return;
  const target = document.getElementById(box.dataset.toggles);
  if (target) target.hidden = !box.checked;
});
