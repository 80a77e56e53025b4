/* gannet playground: the latent explorer (`gannet playground --runs DIR`). An ES module,
 * served as it is: no bundler, no libraries. It lists the runs the server found (the table is
 * explorer-runs.js's), opens one, and asks the server for frames of its G while the user
 * moves through z-space: a plane spanned by two samples (its map is explorer-pad.js's), paths
 * between samples (the paper's Figure 3), one slider per coordinate of z, a class for
 * conditional runs, truncation for StyleGAN runs.
 *
 * Requests are coalesced: while one frame is on its way, moves only update what the next
 * request will ask, so dragging never queues more than one frame behind the pointer.
 *
 * Test hooks: window.gannetState.explorer holds what is on screen; elements carry
 * data-testid attributes. main.js imports this module, shows the view and fires
 * "gannet:view" on tab changes.
 */

import { api } from "./api.js"; // JSON in and out, an HttpError on a 4xx/5xx
import { bindPad, drawPlaneMap } from "./explorer-pad.js";
import { showRunTable } from "./explorer-runs.js";
import { fmtSig } from "./format.js";
import { $, S, setStatus } from "./state.js";

const MAX_SLIDERS = 512;

const E = {
  enabled: false,
  root: null,
  runs: [],
  run: null, // the opened run's id
  info: null, // the server's description of its G
  mode: "plane",
  seed: 0,
  a: 0,
  b: 1,
  u: 0.5,
  v: 0.5,
  span: 2,
  size: 5,
  rows: 4,
  steps: 8,
  spherical: false,
  klass: -1,
  psi: 1,
  z: null, // the sliders' z
  frames: 0, // frames drawn
  image: null, // the last frame's data URL
  last: null, // the last frame's answer, without its image
  anchors: null, // the picker's answer, without its image
  roundTripMs: null,
  busy: false,
  error: null,
  started: false,
};
S.explorer = E;

const status = (text, kind = "") => setStatus("explorer-status", text, kind);

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the server's picture could not be decoded"));
    img.src = url;
  });
}

/* ------------------------------------------------------------------ the run picker */

const showRuns = () => showRunTable(E, openRun);

async function listRuns() {
  try {
    const r = await api("/api/explorer/runs");
    E.enabled = r.enabled;
    E.root = r.root;
    E.runs = r.runs;
    $("tab-explorer").hidden = !r.enabled;
    showRuns();
  } catch (e) {
    E.error = e.message;
    status(`Server error: ${e.message}`, "warn");
  }
}

async function openRun(id) {
  status(`Opening ${id}…`);
  try {
    const info = await api("/api/explorer/open", { run: id });
    E.run = id;
    E.info = info;
    E.error = null;
  } catch (e) {
    E.error = e.message;
    status(e.message, "warn");
    return;
  }
  const info = E.info;
  const run = E.runs.find((r) => r.id === id) || {};
  $("explorer-title").textContent = `${id}: ${run.dataset || ""}, G ${run.generator || ""}, z ${info.z_dim} ${info.noise}${run.step !== undefined ? `, step ${run.step}` : ""}`;
  $("explorer-main").hidden = false;
  const klass = $("explorer-class");
  klass.replaceChildren();
  for (let c = 0; c < info.num_classes; c += 1) klass.append(new Option(String(c), String(c)));
  $("explorer-class-box").hidden = !info.num_classes;
  E.klass = info.num_classes ? 0 : -1;
  $("explorer-trunc-box").hidden = !info.truncation;
  E.psi = 1;
  $("explorer-trunc").value = "1";
  $("explorer-trunc-out").textContent = "1.00";
  E.z = null;
  showRuns();
  status("");
  if (E.mode === "plane") drawPad();
  await refreshAnchors();
  schedule();
}

/* ------------------------------------------------------------------ frames */

function common() {
  const body = { run: E.run, seed: E.seed };
  if (E.klass >= 0) body.class = E.klass;
  if (E.info && E.info.truncation) body.truncation = E.psi;
  return body;
}

function frameRequest() {
  if (E.mode === "plane") {
    return ["/api/explorer/plane", { ...common(), a: E.a, b: E.b, u: E.u, v: E.v, span: E.span, size: E.size }];
  }
  if (E.mode === "path") {
    const pairs = [[E.a, E.b]];
    for (let i = 1; i < E.rows; i += 1) pairs.push([(2 * i) % 64, (2 * i + 1) % 64]);
    return ["/api/explorer/path", { ...common(), pairs, steps: E.steps, spherical: E.spherical }];
  }
  const body = { ...common(), index: E.a };
  if (E.z) body.z = E.z;
  return ["/api/explorer/point", body];
}

/** Draw a frame's picture on ``canvas``, as wide as its card allows and at most
 * ``maxHeight`` CSS pixels tall, keeping the picture's proportions (square cells). */
async function drawFrame(canvas, url, maxHeight = 640) {
  const img = await loadImage(url);
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = "100%";
  const ratio = img.height / img.width;
  let cssWidth = canvas.clientWidth;
  if (cssWidth * ratio > maxHeight) cssWidth = maxHeight / ratio;
  canvas.style.width = `${Math.round(cssWidth)}px`;
  canvas.style.height = `${Math.round(cssWidth * ratio)}px`;
  canvas.width = Math.max(1, Math.round(cssWidth * dpr));
  canvas.height = Math.max(1, Math.round(cssWidth * ratio * dpr));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return img;
}

async function renderOnce() {
  if (!E.run) return;
  const [path, body] = frameRequest();
  const start = performance.now();
  const r = await api(path, body);
  await drawFrame($("explorer-plot"), r.image);
  E.roundTripMs = performance.now() - start;
  E.image = r.image;
  const { image, ...rest } = r;
  E.last = rest;
  E.frames += 1;
  if (E.mode === "sliders" && !E.z) {
    E.z = r.z;
    buildSliders();
  }
  const fps = 1000 / Math.max(E.roundTripMs, 1e-3);
  $("explorer-time").textContent = `${r.count} image${r.count === 1 ? "" : "s"} · G (${r.drawn_by}) ${fmtSig(r.ms.generate)} ms · PNG ${fmtSig(r.ms.encode)} ms · round trip ${fmtSig(E.roundTripMs)} ms (${fmtSig(fps, 2)} frames/s)`;
  if (!E.error) status("");
}

let wanted = false;
let pumping = false;

/** Ask for a frame of the current settings; moves while one is on its way coalesce. */
function schedule() {
  wanted = true;
  if (!pumping) pump();
}

async function pump() {
  pumping = true;
  E.busy = true;
  while (wanted) {
    wanted = false;
    try {
      await renderOnce();
      E.error = null;
    } catch (e) {
      E.error = e.message;
      status(e.message, "warn");
    }
  }
  pumping = false;
  E.busy = false;
}

/* ------------------------------------------------------------------ the sample picker */

async function refreshAnchors() {
  if (!E.run) return;
  try {
    const r = await api("/api/explorer/samples", { ...common(), count: E.info.anchors });
    const { image, ...rest } = r;
    E.anchors = rest;
    E.anchorsImage = await drawFrame($("explorer-anchors"), image, 420);
    markAnchors();
  } catch (e) {
    E.error = e.message;
    status(e.message, "warn");
  }
}

function anchorBox(index, scale) {
  const a = E.anchors;
  const r = Math.floor(index / a.cols);
  const c = index % a.cols;
  const [h, w] = a.cell;
  return [(a.pad + c * (w + a.pad)) * scale, (a.pad + r * (h + a.pad)) * scale, w * scale, h * scale];
}

function markAnchors() {
  const canvas = $("explorer-anchors");
  if (!E.anchors || !E.anchorsImage) return;
  const ctx = canvas.getContext("2d");
  const scale = canvas.width / E.anchorsImage.width;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(E.anchorsImage, 0, 0, canvas.width, canvas.height);
  for (const [index, color] of [[E.a, "#1f77b4"], [E.b, "#d62728"]]) {
    const [x, y, w, h] = anchorBox(index, scale);
    ctx.strokeStyle = color;
    ctx.lineWidth = Math.max(2, scale);
    ctx.strokeRect(x - ctx.lineWidth / 2, y - ctx.lineWidth / 2, w + ctx.lineWidth, h + ctx.lineWidth);
  }
}

function pickAnchor(event) {
  if (!E.anchors || !E.anchorsImage) return;
  const canvas = $("explorer-anchors");
  const rect = canvas.getBoundingClientRect();
  const scale = rect.width / E.anchorsImage.width;
  const a = E.anchors;
  const [h, w] = a.cell;
  const col = Math.floor(((event.clientX - rect.left) / scale - a.pad / 2) / (w + a.pad));
  const row = Math.floor(((event.clientY - rect.top) / scale - a.pad / 2) / (h + a.pad));
  const index = row * a.cols + col;
  if (col < 0 || col >= a.cols || row < 0 || index >= a.count) return;
  if (event.shiftKey) E.b = index;
  else E.a = index;
  $("explorer-a").value = String(E.a);
  $("explorer-b").value = String(E.b);
  if (!event.shiftKey) E.z = null; // the sliders start again from the new A
  markAnchors();
  schedule();
}

/* ------------------------------------------------------------------ the plane's map */

const drawPad = () => drawPlaneMap(E); // explorer-pad.js

/* ------------------------------------------------------------------ the sliders */

function buildSliders() {
  const box = $("explorer-sliders");
  box.replaceChildren();
  if (!E.z || !E.info) return;
  const r = E.info.z_range;
  E.z.slice(0, MAX_SLIDERS).forEach((value, i) => {
    const label = document.createElement("label");
    const name = document.createElement("span");
    name.textContent = `z${i}`;
    const input = document.createElement("input");
    input.type = "range";
    input.min = String(-r);
    input.max = String(r);
    input.step = "0.01";
    input.value = String(value);
    input.dataset.testid = `explorer-z-${i}`;
    const out = document.createElement("output");
    out.textContent = value.toFixed(2);
    input.addEventListener("input", () => {
      E.z[i] = parseFloat(input.value);
      out.textContent = E.z[i].toFixed(2);
      schedule();
    });
    label.append(name, input, out);
    box.append(label);
  });
}

/* ------------------------------------------------------------------ controls */

function setMode(mode) {
  E.mode = mode;
  $("explorer-plane-box").hidden = mode !== "plane";
  $("explorer-path-box").hidden = mode !== "path";
  $("explorer-sliders-box").hidden = mode !== "sliders";
  if (mode === "plane") drawPad();
  if (mode === "sliders") {
    E.z = null; // start from A
    $("explorer-sliders").replaceChildren();
  }
  schedule();
}

function intInput(id, lo, hi, apply) {
  const el = $(id);
  el.addEventListener("change", () => {
    const v = Math.round(parseFloat(el.value));
    if (!Number.isFinite(v)) return;
    const clamped = Math.min(Math.max(v, lo), hi);
    el.value = String(clamped);
    apply(clamped);
  });
}

function bind() {
  for (const radio of document.querySelectorAll("input[name=explorer-mode]")) {
    radio.addEventListener("change", () => radio.checked && setMode(radio.value));
  }
  intInput("explorer-seed", 0, 2147483647, async (v) => {
    E.seed = v;
    E.z = null;
    await refreshAnchors();
    schedule();
  });
  intInput("explorer-a", 0, 63, (v) => { E.a = v; E.z = null; markAnchors(); schedule(); });
  intInput("explorer-b", 0, 63, (v) => { E.b = v; markAnchors(); schedule(); });
  intInput("explorer-rows", 1, 8, (v) => { E.rows = v; schedule(); });
  intInput("explorer-steps", 2, 12, (v) => { E.steps = v; schedule(); });
  $("explorer-slerp").addEventListener("change", () => { E.spherical = $("explorer-slerp").checked; schedule(); });
  $("explorer-size").addEventListener("change", () => { E.size = parseInt($("explorer-size").value, 10); schedule(); });
  $("explorer-span").addEventListener("input", () => {
    E.span = parseFloat($("explorer-span").value);
    $("explorer-span-out").textContent = E.span.toFixed(1);
    drawPad();
    schedule();
  });
  $("explorer-class").addEventListener("change", async () => {
    E.klass = parseInt($("explorer-class").value, 10);
    await refreshAnchors();
    schedule();
  });
  $("explorer-trunc").addEventListener("input", () => {
    E.psi = parseFloat($("explorer-trunc").value);
    $("explorer-trunc-out").textContent = E.psi.toFixed(2);
    schedule();
  });
  $("explorer-trunc").addEventListener("change", refreshAnchors);
  $("explorer-reset-z").addEventListener("click", () => { E.z = null; schedule(); });
  $("explorer-anchors").addEventListener("click", pickAnchor);
  $("explorer-refresh").addEventListener("click", listRuns);
  bindPad(E, schedule);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (S.view !== "explorer" || !E.run) return;
      drawPad();
      if (E.image) drawFrame($("explorer-plot"), E.image);
      if (E.anchors) markAnchors();
    }, 60);
  });
}

function onView(view) {
  if (view !== "explorer" || !E.run) return;
  drawPad();
  if (E.image) drawFrame($("explorer-plot"), E.image);
}

bind();
document.addEventListener("gannet:view", (event) => onView(event.detail));
// List the runs now, whichever tab shows: that shows this tab when the server has a runs
// folder. Not awaited (no top-level await), so main.js starts the page meanwhile.
E.started = true;
listRuns().then(() => {
  if (S.view === "explorer") onView("explorer");
  E.ready = true;
});
