// photoseal gallery: grid, table and map over the JSON API of `photoseal serve`.
// Everything comes from this server (the Content-Security-Policy allows nothing else); the
// filters live in the URL, so a view can be bookmarked.
"use strict";

const PAGE = 60;
const FILTER_INPUTS = ["q", "place", "views_min", "views_max", "taken_from", "taken_to", "geo", "width_min"];
const FACET_PARAM = { country: "cc", term: "term", license: "license", status: "status" };
const TABLE_COLUMNS = [
  ["title", "Title"], ["taken_at", "Taken"], ["views", "Views"], ["license", "Licence"],
  ["status", "Status"], ["country", "Country"], ["city", "City"], ["width", "Width"],
];

const state = { photos: [], total: 0, labels: [], viewer: -1, map: null, cluster: null, basemap: null, loading: false };

const $ = (selector) => document.querySelector(selector);
const el = (tag, attributes = {}, text) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
};

function params() { return new URLSearchParams(location.search); }

// The filter part of the URL (no view, paging or sorting).
function filterParams() {
  const p = params();
  for (const key of ["view", "sort", "order", "offset", "limit"]) p.delete(key);
  return p;
}

function setParams(p, push = true) {
  const query = p.toString();
  const url = location.pathname + (query ? "?" + query : "");
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
  refresh();
}

function view() { return params().get("view") || "grid"; }

async function api(path, p) {
  const response = await fetch(path + "?" + p.toString(), { credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(error) { $("#count").textContent = String(error.message || error); }

// MARK: filters

function readInputs() {
  for (const name of FILTER_INPUTS) {
    const input = $("#f-" + name);
    if (input) input.value = params().get(name) || "";
  }
  $("#bbox-chip").hidden = !params().get("bbox");
}

function wireInputs() {
  for (const name of FILTER_INPUTS) {
    const input = $("#f-" + name);
    input.addEventListener("change", () => {
      const p = params();
      if (input.value) p.set(name, input.value); else p.delete(name);
      p.delete("offset");
      setParams(p);
    });
  }
  $("#bbox-clear").addEventListener("click", () => { const p = params(); p.delete("bbox"); setParams(p); });
  $("#clear-filters").addEventListener("click", () => {
    const p = new URLSearchParams();
    if (params().get("view")) p.set("view", params().get("view"));
    setParams(p);
  });
  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", () => { const p = params(); p.set("view", button.dataset.view); setParams(p); });
  }
  $("#more").addEventListener("click", loadMore);
  window.addEventListener("popstate", refresh);
}

function renderFacet(name, values) {
  const box = $("#facet-" + name + " .facet");
  const param = FACET_PARAM[name];
  const chosen = new Set(params().getAll(param));
  box.replaceChildren();
  for (const item of values.slice(0, 40)) {
    const label = el("label");
    const input = el("input", { type: "checkbox", value: item.value, "data-facet": param });
    input.checked = chosen.has(item.value);
    input.addEventListener("change", () => {
      const p = params();
      const rest = p.getAll(param).filter((v) => v !== item.value);
      p.delete(param);
      for (const v of rest) p.append(param, v);
      if (input.checked) p.append(param, item.value);
      setParams(p);
    });
    const name = item.value === "" ? "(none)" : (item.label ? item.label + " (" + item.value + ")" : item.value);
    const text = el("span", {}, name);
    text.prepend(input);
    label.append(text, el("span", { class: "n" }, String(item.count)));
    box.append(label);
  }
}

function renderSliders(labels) {
  const box = $("#facet-label .sliders");
  box.replaceChildren();
  state.labels = labels.map((l) => l.value).sort();
  for (const label of state.labels) {
    const key = "score." + label;
    const current = params().get(key) || "0";
    const output = el("output", {}, current);
    const slider = el("input", {
      type: "range", min: "0", max: "1", step: "0.05", value: current, class: "score-slider", "data-label": label,
    });
    slider.addEventListener("input", () => { output.textContent = slider.value; });
    slider.addEventListener("change", () => {
      const p = params();
      if (Number(slider.value) > 0) p.set(key, slider.value); else p.delete(key);
      setParams(p);
    });
    const wrap = el("label", {}, label + " ≥ ");
    wrap.append(output, slider);
    box.append(wrap);
  }
}

async function loadFacets() {
  const facets = await api("/api/facets", filterParams());
  for (const name of Object.keys(FACET_PARAM)) renderFacet(name, facets.facets[name] || []);
  renderSliders(facets.facets.label || []);
  $("#count").textContent = facets.total + (facets.total === 1 ? " photo" : " photos");
  $("#count").dataset.total = String(facets.total);
}

// MARK: grid and table

function photosQuery(offset) {
  const p = filterParams();
  const current = params();
  if (current.get("sort")) p.set("sort", current.get("sort"));
  if (current.get("order")) p.set("order", current.get("order"));
  p.set("offset", String(offset));
  p.set("limit", String(PAGE));
  return p;
}

async function loadPhotos(reset) {
  if (state.loading) return;
  state.loading = true;
  try {
    if (reset) state.photos = [];
    const page = await api("/api/photos", photosQuery(state.photos.length));
    state.total = page.total;
    state.photos = state.photos.concat(page.photos);
    if (view() === "table") renderTable(); else renderGrid(reset ? 0 : state.photos.length - page.photos.length);
    $("#more").hidden = state.photos.length >= state.total || view() === "map";
  } finally {
    state.loading = false;
  }
}

function loadMore() { return loadPhotos(false).catch(showError); }

function thumb(photo, className) {
  if (!photo.image || !photo.image.viewable) return el("span", { class: className + " noimage" }, "no image");
  return el("img", {
    src: "/thumb?id=" + encodeURIComponent(photo.id), loading: "lazy", alt: photo.title || photo.id, class: className,
  });
}

function renderGrid(from) {
  const grid = $("#grid");
  if (from === 0) grid.replaceChildren();
  state.photos.slice(from).forEach((photo, i) => {
    const card = el("button", { type: "button", class: "card", "data-id": photo.id });
    card.append(thumb(photo, "thumb"), el("span", {}, photo.title || photo.id));
    card.addEventListener("click", () => openViewer(from + i));
    grid.append(card);
  });
}

function renderTable() {
  const current = params();
  const sort = current.get("sort") || "id";
  const order = current.get("order") || "asc";
  const columns = [["id", "Id"]].concat(TABLE_COLUMNS, state.labels.map((l) => ["score." + l, l]));
  const head = el("tr");
  head.append(el("th", {}, ""));
  for (const [key, name] of columns) {
    const th = el("th", { "data-sort": key }, name);
    if (key === sort) th.className = order === "desc" ? "sorted-desc" : "sorted-asc";
    th.addEventListener("click", () => {
      const p = params();
      p.set("sort", key);
      p.set("order", key === sort && order === "asc" ? "desc" : "asc");
      setParams(p);
    });
    head.append(th);
  }
  $("#table thead").replaceChildren(head);
  const body = $("#table tbody");
  body.replaceChildren();
  state.photos.forEach((photo, index) => {
    const place = photo.place || {};
    const values = [
      photo.id, photo.title, photo.taken_at, photo.views, photo.license, photo.status, place.cc, place.city,
      photo.image && photo.image.width,
    ].concat(state.labels.map((l) => (photo.scores[l] === undefined ? "" : photo.scores[l].toFixed(2))));
    const row = el("tr", { "data-id": photo.id });
    const cell = el("td");
    cell.append(thumb(photo, "thumb"));
    row.append(cell);
    for (const value of values) row.append(el("td", {}, value === undefined || value === null ? "" : String(value)));
    row.addEventListener("click", () => openViewer(index));
    body.append(row);
  });
}

// MARK: photo view

function openViewer(index) {
  if (index < 0 || index >= state.total) return;
  if (index >= state.photos.length) {
    loadMore().then(() => { if (index < state.photos.length) openViewer(index); });
    return;
  }
  state.viewer = index;
  const photo = state.photos[index];
  const image = $("#viewer-img");
  if (photo.image && photo.image.viewable) {
    image.src = "/large?id=" + encodeURIComponent(photo.id);
    image.hidden = false;
  } else {
    image.removeAttribute("src");
    image.hidden = true;
  }
  image.alt = photo.title || photo.id;
  const info = el("dl");
  const add = (name, value) => {
    if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
    info.append(el("dt", {}, name), el("dd", {}, Array.isArray(value) ? value.join(", ") : String(value)));
  };
  const place = photo.place || {};
  add("Title", photo.title);
  add("Description", photo.description);
  add("Id", photo.id);
  add("Taken", photo.taken_at);
  add("Views", photo.views);
  add("Licence", photo.license);
  add("Status", photo.status);
  add("Place", [place.city, place.admin2, place.admin1, place.country].filter(Boolean).join(", "));
  if (photo.geo) add("Position", photo.geo.lat.toFixed(5) + ", " + photo.geo.lon.toFixed(5));
  add("Scores", Object.entries(photo.scores).map(([k, v]) => k + " " + v.toFixed(2)));
  add("Tags", photo.tags);
  add("Search terms", photo.terms);
  if (photo.page_url) {
    const dd = el("dd");
    dd.append(el("a", { href: photo.page_url, rel: "noreferrer noopener", target: "_blank" }, "source page"));
    info.append(el("dt", {}, "Source"), dd);
  }
  $("#viewer-info").replaceChildren(info);
  $("#viewer").hidden = false;
  $("#viewer").dataset.id = photo.id;
}

function closeViewer() { $("#viewer").hidden = true; state.viewer = -1; }

function wireViewer() {
  $("#viewer-close").addEventListener("click", closeViewer);
  $("#viewer-prev").addEventListener("click", () => openViewer(state.viewer - 1));
  $("#viewer-next").addEventListener("click", () => openViewer(state.viewer + 1));
  document.addEventListener("keydown", (event) => {
    if ($("#viewer").hidden) return;
    if (event.key === "Escape") closeViewer();
    else if (event.key === "ArrowLeft") openViewer(state.viewer - 1);
    else if (event.key === "ArrowRight") openViewer(state.viewer + 1);
    else return;
    event.preventDefault();
  });
}

// MARK: map

// Text for Leaflet's attribution control, which writes HTML: the file's attribution may hold
// markup (links); only its text is shown, escaped.
function attributionText(html) {
  const text = new DOMParser().parseFromString(String(html), "text/html").body.textContent || "";
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Leaflet cancels a tile's download by pointing the <img> at a data: URL, which the
// Content-Security-Policy (img-src 'self') refuses with a console error; taking the src away
// cancels it as well. Otherwise Leaflet 1.x's own _abortLoading and _removeTile.
function localTileLayer(url, options) {
  const Layer = L.TileLayer.extend({
    _abortLoading() {
      for (const key of Object.keys(this._tiles)) {
        const tile = this._tiles[key];
        if (tile.coords.z === this._tileZoom) continue;
        tile.el.onload = L.Util.falseFn;
        tile.el.onerror = L.Util.falseFn;
        if (!tile.el.complete) {
          tile.el.removeAttribute("src");
          L.DomUtil.remove(tile.el);
          delete this._tiles[key];
        }
      }
    },
    _removeTile(key) {
      const tile = this._tiles[key];
      if (!tile) return undefined;
      tile.el.onload = L.Util.falseFn;
      tile.el.onerror = L.Util.falseFn;
      if (!tile.el.complete) tile.el.removeAttribute("src");
      return L.GridLayer.prototype._removeTile.call(this, key);
    },
  });
  return new Layer(url, options);
}

// The raster basemap of serve --tiles, from this server; resolves whether there is one.
async function addBasemap(map) {
  const response = await fetch("/api/basemap", { credentials: "same-origin" });
  const tiles = response.ok ? (await response.json()).tiles : null;
  if (!tiles) return false;
  const options = { minZoom: tiles.minzoom, maxNativeZoom: tiles.maxzoom, maxZoom: 18 };
  if (tiles.bounds) options.bounds = L.latLngBounds([tiles.bounds[1], tiles.bounds[0]], [tiles.bounds[3], tiles.bounds[2]]);
  if (tiles.attribution) {
    options.attribution = attributionText(tiles.attribution);
    L.control.attribution({ prefix: false }).addTo(map);
  }
  state.basemap = localTileLayer(tiles.url, options).addTo(map);
  return true;
}

async function loadMap() {
  if (typeof L === "undefined" || !L.markerClusterGroup) {
    $("#map-note").textContent = "The map needs Leaflet and its marker-cluster plugin: install the Debian packages libjs-leaflet and libjs-leaflet.markercluster.";
    return;
  }
  if (!state.map) {
    state.map = L.map("map", { attributionControl: false, worldCopyJump: true, minZoom: 1, maxZoom: 18 }).setView([20, 0], 2);
    // The basemap (serve --tiles) first: over its tiles the outlines are lines, not filled land.
    addBasemap(state.map).catch(() => false).then((tiles) => fetch("/countries.geojson").then((r) => (r.ok ? r.json() : null)).then((outlines) => {
      const style = tiles ? { color: "#546e7a", weight: 1, fill: false } : { color: "#546e7a", weight: 1, fillColor: "#eceff1", fillOpacity: 1 };
      if (outlines) L.geoJSON(outlines, { style, interactive: false }).addTo(state.map).bringToBack();
    })).catch(() => {});
  }
  const data = await api("/api/map", filterParams());
  if (state.cluster) state.map.removeLayer(state.cluster);
  state.cluster = L.markerClusterGroup({ zoomToBoundsOnClick: false, showCoverageOnHover: false });
  state.cluster.on("clusterclick", (event) => {
    const b = event.layer.getBounds();
    const pad = 1e-6;
    const p = params();
    p.set("bbox", [b.getWest() - pad, b.getSouth() - pad, b.getEast() + pad, b.getNorth() + pad].map((n) => n.toFixed(6)).join(","));
    p.set("view", "grid");
    setParams(p);
  });
  const markers = data.points.map(([id, lat, lon]) => {
    const marker = L.circleMarker([lat, lon], { radius: 6, color: "#00695c", fillOpacity: 0.8 });
    marker.on("click", () => {
      const p = params();
      p.set("bbox", [lon - 1e-6, lat - 1e-6, lon + 1e-6, lat + 1e-6].map((n) => n.toFixed(6)).join(","));
      p.set("view", "grid");
      setParams(p);
    });
    return marker;
  });
  state.cluster.addLayers(markers);
  state.map.addLayer(state.cluster);
  $("#map-note").textContent = data.total + " photos with a position. Click a cluster to see its photos.";
  if (markers.length) state.map.fitBounds(state.cluster.getBounds(), { maxZoom: 6, padding: [20, 20] });  // keep the country outlines in view
  setTimeout(() => state.map.invalidateSize(), 0);
}

// MARK: refresh

function refresh() {
  readInputs();
  const current = view();
  for (const name of ["grid", "table", "map"]) {
    $("#view-" + name).hidden = name !== current;
    $("#tab-" + name).classList.toggle("active", name === current);
  }
  const exportQuery = photosQuery(0);
  exportQuery.delete("offset");
  exportQuery.delete("limit");
  $("#download-csv").href = "/api/export.csv?" + exportQuery.toString();
  $("#download-jsonl").href = "/api/export.jsonl?" + exportQuery.toString();
  closeViewer();
  const work = [loadFacets()];
  if (current === "map") { $("#more").hidden = true; work.push(loadMap()); } else work.push(loadPhotos(true));
  Promise.all(work).catch(showError);
}

// Scrolled near the end of the grid: the next page.
new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && !$("#more").hidden) loadMore();
}).observe($("#more"));

// The access token came in the URL once; the cookie holds it now: keep it out of history,
// bookmarks and download links.
if (params().has("token")) {
  const p = params();
  p.delete("token");
  history.replaceState(null, "", location.pathname + (p.toString() ? "?" + p.toString() : ""));
}
wireInputs();
wireViewer();
refresh();
