// Network map: markers come from data-points on the element, tiles from data-tiles.
// Circle markers are SVG, so the network stays visible when tiles cannot load.
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-map]")) {
    if (typeof L === "undefined") continue;
    const points = JSON.parse(el.dataset.points || "[]");
    const map = L.map(el, { scrollWheelZoom: false });
    const tiles = L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 18 });
    tiles.on("tileerror", () => el.classList.add("tiles-failed"));
    tiles.addTo(map);
    const colours = { platform: "#1b5e20", cpas: "#0d47a1", association: "#6a1b9a", lot: "#e65100" };
    const bounds = [];
    for (const p of points) {
      const marker = L.circleMarker([p.lat, p.lon], {
        radius: p.kind === "platform" ? 9 : 6, color: colours[p.kind] || "#333", weight: 2,
        fillOpacity: 0.7,
      }).addTo(map);
      marker.bindTooltip(p.label);
      marker.getElement()?.setAttribute("data-kind", p.kind);
      bounds.push([p.lat, p.lon]);
    }
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 11 });
    else map.setView([50.25, 5.2], 8);
  }
});
