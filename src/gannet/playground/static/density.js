/* gannet playground: the analytic view's data density p_data (an ES module): a bell curve, a
 * mixture of up to six, or a density drawn with the mouse or a finger (heights at 121 knots
 * over [-6, 6], rescaled to area 1 after each stroke). A change here asks for a new answer
 * through the hooks analytic.js gives bindDataInputs (this module does not import it).
 */

import { round } from "./format.js";
import { $, S, readInput } from "./state.js";

export const DRAWN_POINTS = 121; // a drawn density: heights every 0.1 over -6..6 (gannet.playground.analytic)
const DRAWN_RANGE = [-6, 6];
export const MAX_COMPONENTS = 6;
const DEFAULT_MIXTURE = { means: [-2, 2], sds: [0.5, 0.7], weights: [1, 1] };

const A = S.analytic;

/** The pen on the density plot: ``axes``, the density Axes analytic.js last drew (maps the
 * pointer to x and density); ``active`` while a stroke is being drawn. */
export const pen = { axes: null, active: false };
let lastDraw = null;

/** What a change of the data asks of analytic.js: a new answer, and an end to training. */
const game = { request: () => {}, stop: () => {} };

const knotX = (i) => DRAWN_RANGE[0] + (i * (DRAWN_RANGE[1] - DRAWN_RANGE[0])) / (DRAWN_POINTS - 1);

/** Heights of the current data density at the drawing knots (to start a drawing from it). */
export function dataAtKnots() {
  const out = [];
  for (let i = 0; i < DRAWN_POINTS; i++) {
    const x = knotX(i);
    let v = 0;
    if (A.data.kind === "mixture") {
      const d = A.data, total = d.weights.reduce((a, b) => a + b, 0);
      d.means.forEach((m, j) => { v += (d.weights[j] / total) * gauss(x, m, d.sds[j]); });
    } else v = gauss(x, A.params.mu_data, A.params.sd_data);
    out.push(round(v, 4));
  }
  return out;
}

const gauss = (x, m, s) => Math.exp(-0.5 * ((x - m) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));

export function setDataKind(kind, { request = true } = {}) {
  if (A.training) game.stop("the data changed");
  if (kind === "mixture" && A.data.kind !== "mixture") A.data = { kind, ...structuredClone(A.mixture || DEFAULT_MIXTURE) };
  else if (kind === "drawn" && A.data.kind !== "drawn") A.data = { kind, values: A.drawnValues || dataAtKnots() };
  else if (kind === "gaussian") A.data = { kind };
  for (const el of document.querySelectorAll("input[name=data-kind]")) el.checked = el.value === kind;
  $("data-gaussian-box").hidden = kind !== "gaussian";
  $("data-mixture-box").hidden = kind !== "mixture";
  $("data-drawn-box").hidden = kind !== "drawn";
  $("analytic-plot").classList.toggle("drawable", kind === "drawn");
  if (kind === "mixture") renderMixRows();
  A.trainHistory = [];
  A.stopReason = null;
  if (request) game.request();
}

function renderMixRows() {
  const d = A.data;
  const rows = $("mix-rows");
  rows.textContent = "";
  d.means.forEach((m, j) => {
    const row = document.createElement("div");
    row.className = "mix-row";
    const name = document.createElement("span");
    name.textContent = `#${j + 1}`;
    row.append(name);
    for (const [key, lo, hi, step] of [["means", -5, 5, 0.1], ["sds", 0.1, 3, 0.05], ["weights", 0, 10, 0.1]]) {
      const input = document.createElement("input");
      Object.assign(input, { type: "number", min: lo, max: hi, step, value: String(d[key][j]) });
      input.dataset.testid = `mix-${key}-${j}`;
      input.setAttribute("aria-label", `${key} of bell curve ${j + 1}`);
      input.addEventListener("input", () => {
        const v = readInput(input);
        if (v === null) return;
        d[key][j] = v;
        if (d.weights.every((w) => w <= 0)) return;
        A.mixture = { means: [...d.means], sds: [...d.sds], weights: [...d.weights] };
        A.trainHistory = [];
        game.request();
      });
      row.append(input);
    }
    rows.append(row);
  });
  $("mix-add").disabled = d.means.length >= MAX_COMPONENTS;
  $("mix-remove").disabled = d.means.length <= 1;
}

function changeMixture(add) {
  const d = A.data;
  if (add && d.means.length < MAX_COMPONENTS) {
    d.means.push(round(-4 + 8 * Math.random(), 1));
    d.sds.push(0.5);
    d.weights.push(1);
  } else if (!add && d.means.length > 1) {
    for (const key of ["means", "sds", "weights"]) d[key].pop();
  }
  A.mixture = { means: [...d.means], sds: [...d.sds], weights: [...d.weights] };
  renderMixRows();
  A.trainHistory = [];
  game.request();
}

/** Set the drawn heights under the pointer, and on the knots between it and the last position. */
function drawAt(event) {
  const ax = pen.axes;
  if (!ax) return;
  const rect = $("analytic-plot").getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  const x = ax.xr[0] + ((px - ax.box.x) / ax.box.w) * (ax.xr[1] - ax.xr[0]);
  const y = Math.max(0, ax.yr[0] + ((ax.box.y + ax.box.h - py) / ax.box.h) * (ax.yr[1] - ax.yr[0]));
  const i = Math.round(((x - DRAWN_RANGE[0]) / (DRAWN_RANGE[1] - DRAWN_RANGE[0])) * (DRAWN_POINTS - 1));
  const values = A.data.values;
  const from = lastDraw || { i, y };
  const lo = Math.min(from.i, i), hi = Math.max(from.i, i);
  for (let j = Math.max(0, lo); j <= Math.min(DRAWN_POINTS - 1, hi); j++) {
    const t = hi === lo ? 1 : (j - from.i) / (i - from.i);
    values[j] = round(Math.min(50, from.y + (y - from.y) * t), 4);
  }
  lastDraw = { i, y };
  if (values.some((v) => v > 0)) game.request();
}

/** After a stroke: rescale the heights to area 1, so what is drawn is what is computed. */
function normaliseDrawing() {
  const v = A.data.values;
  let mass = 0;
  for (let i = 1; i < v.length; i++) mass += (0.5 * (v[i] + v[i - 1]) * (DRAWN_RANGE[1] - DRAWN_RANGE[0])) / (DRAWN_POINTS - 1);
  if (mass > 0) A.data.values = v.map((h) => round(h / mass, 4));
  A.drawnValues = A.data.values;
  game.request();
}

/** Wire the data's inputs and the pen; ``hooks``: {request(), stop(reason)} of analytic.js. */
export function bindDataInputs(hooks) {
  Object.assign(game, hooks);
  for (const el of document.querySelectorAll("input[name=data-kind]")) {
    el.addEventListener("change", () => el.checked && setDataKind(el.value));
  }
  $("mix-add").addEventListener("click", () => changeMixture(true));
  $("mix-remove").addEventListener("click", () => changeMixture(false));
  $("draw-clear").addEventListener("click", () => {
    A.data.values = new Array(DRAWN_POINTS).fill(0);
    A.data.values[Math.floor(DRAWN_POINTS / 2)] = 1; // a density must have some mass
    A.drawnValues = A.data.values;
    A.trainHistory = [];
    game.request();
  });
  $("draw-bell").addEventListener("click", () => {
    A.data.values = (() => { const keep = A.data; A.data = { kind: "gaussian" }; const v = dataAtKnots(); A.data = keep; return v; })();
    A.drawnValues = A.data.values;
    A.trainHistory = [];
    game.request();
  });
  const canvas = $("analytic-plot");
  canvas.addEventListener("pointerdown", (e) => {
    if (A.data.kind !== "drawn") return;
    if (A.training) game.stop("you are drawing the data");
    pen.active = true;
    lastDraw = null;
    canvas.setPointerCapture(e.pointerId);
    A.trainHistory = [];
    drawAt(e);
  });
  canvas.addEventListener("pointermove", (e) => { if (pen.active) drawAt(e); });
  const end = () => {
    if (!pen.active) return;
    pen.active = false;
    lastDraw = null;
    normaliseDrawing();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
}
