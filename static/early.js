// Loaded, not deferred, before the page is drawn, so what it does holds from the first paint:
// - tells the CSS that scripts run (class "js" on <html>): below 1024 px the header's
//   <ul id="site-menu"> then starts collapsed (without JavaScript it stays open);
// - the button <button class="menu-toggle" aria-expanded aria-controls="site-menu"> opens
//   and closes it. Its listeners sit on the document, so a tap before the deferred app.js
//   has run (a slow phone connection) is not lost.
// Everything else is in app.js.
document.documentElement.classList.add("js");

// -- the menu on a phone -----------------------------------------------------------------

const phone = window.matchMedia("(max-width: 1023.98px)");  // as in app.css

function setMenu(button, open) {
  const menu = document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) return;
  button.setAttribute("aria-expanded", open ? "true" : "false");
  menu.classList.toggle("open", open);
  // On a phone the groups (Platform…) are shown unfolded in the open menu.
  if (open && phone.matches) menu.querySelectorAll("details.dropdown").forEach((d) => { d.open = true; });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.menu-toggle");
  if (button) {
    setMenu(button, button.getAttribute("aria-expanded") !== "true");
    return;
  }
  // On a desktop, a menu group closes when one clicks elsewhere.
  if (!phone.matches) {
    document.querySelectorAll(".site-header details.dropdown[open]").forEach((d) => {
      if (!d.contains(event.target)) d.open = false;
    });
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const group = event.target.closest && event.target.closest(".site-header details.dropdown[open]");
  if (group && !phone.matches) {
    group.open = false;
    group.querySelector("summary").focus();
    return;
  }
  const button = document.querySelector("button.menu-toggle[aria-expanded='true']");
  if (button && phone.matches && event.target.closest && event.target.closest(".site-header")) {
    setMenu(button, false);
    button.focus();
  }
});
