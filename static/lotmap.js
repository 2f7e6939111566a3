// The lot map (templates/lots/map.html): lots from the GeoJSON at data-features, tiles
// from data-tiles. Lots at one pickup place share a marker whose popup lists them all.
// Markers are HTML (no image files), so they stay visible when tiles cannot load.
"use strict";

function lotMapPopup(features, viewLabel) {
  const box = document.createElement("div");
  box.className = "lot-popup";
  for (const f of features) {
    const p = f.properties;
    const item = document.createElement("p");
    const title = document.createElement("strong");
    title.textContent = p.title;
    const facts = document.createElement("span");
    facts.textContent = [p.kg_left, p.best_date, p.distance].join(" · ");
    const link = document.createElement("a");
    link.href = p.url;
    link.textContent = viewLabel;
    item.append(title, document.createElement("br"), facts, document.createElement("br"), link);
    box.append(item);
  }
  return box;
}

function lotMapDraw(el, collection) {
  const data = el.dataset;
  // Zoom buttons at the bottom: popups open upwards, over the top of the map.
  const map = L.map(el, { scrollWheelZoom: false, keyboard: true, zoomControl: false });
  L.control.zoom({ position: "bottomright" }).addTo(map);
  const tiles = L.tileLayer(data.tiles, { attribution: data.attribution, maxZoom: 18 });
  tiles.on("tileerror", () => el.classList.add("tiles-failed"));
  tiles.addTo(map);
  const home = [Number(data.orgLat), Number(data.orgLon)];
  const org = L.marker(home, {
    icon: L.divIcon({ className: "org-pin", iconSize: [22, 22] }),
    title: data.orgLabel,
    zIndexOffset: -100,
  }).addTo(map);
  org.bindPopup(data.orgLabel);
  org.getElement()?.setAttribute("aria-label", data.orgLabel);

  const places = new Map();
  for (const f of collection.features) {
    const [lon, lat] = f.geometry.coordinates;
    const key = `${lat.toFixed(5)},${lon.toFixed(5)}`;
    if (!places.has(key)) places.set(key, { lat, lon, features: [] });
    places.get(key).features.push(f);
  }
  const bounds = [home];
  for (const place of places.values()) {
    const n = place.features.length;
    const name = n > 1 ? data.manyLabel.replace("{n}", n) : place.features[0].properties.title;
    const marker = L.marker([place.lat, place.lon], {
      icon: L.divIcon({
        className: "lot-pin" + (place.features.some((f) => f.properties.urgent) ? " urgent" : ""),
        html: n > 1 ? String(n) : "",
        iconSize: [28, 28],
      }),
      title: name,
    }).addTo(map);
    marker.bindPopup(() => lotMapPopup(place.features, data.viewLabel), {
      maxWidth: Math.min(260, el.clientWidth - 80),
    });
    const icon = marker.getElement();
    if (icon) {
      icon.setAttribute("aria-label", name);
      icon.dataset.lots = place.features.map((f) => f.properties.id).join(" ");
    }
    bounds.push([place.lat, place.lon]);
  }
  if (bounds.length > 1) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 13 });
  else map.setView(home, 11);
  el.dataset.drawn = String(collection.features.length);
}

document.addEventListener("DOMContentLoaded", () => {
  // The map page's filters apply as soon as one changes (the list's do so through htmx).
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    form.addEventListener("change", () => form.requestSubmit());
  }
  const el = document.querySelector("[data-lotmap]");
  if (!el || typeof L === "undefined") return;
  const status = document.getElementById("lot-map-status");
  fetch(el.dataset.features, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then((response) => {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    })
    .then((collection) => lotMapDraw(el, collection))
    .catch(() => {
      el.classList.add("tiles-failed");
      if (status) status.textContent = el.dataset.failedLabel;
    });
});
