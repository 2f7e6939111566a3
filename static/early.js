// Loaded before the page is drawn: tells the CSS that app.js will run (the menu may
// then start collapsed on a phone; without JavaScript it stays open).
document.documentElement.classList.add("js");
