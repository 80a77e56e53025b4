/* gannet playground: vanilla JavaScript, drawing on <canvas>. No libraries, no network
 * beyond this page's own server. Every number shown comes from the server (gannet.theory for
 * the analytic view, gannet's Trainer for the live view).
 *
 * Test hooks: window.gannetState holds what is on screen (readout values, the plotted arrays,
 * training history); elements carry data-testid attributes.
 */
"use strict";

const COLORS = {
  data: "#1f77b4",
  gen: "#ff7f0e",
  dstar: "#2ca02c",
  ink: "#1d2433",
  muted: "#5b6475",
  grid: "#edf0f5",
  axis: "#9aa3b2",
  half: "#8a93a3",
};
const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
const BOLD = "600 13px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
const LOG4 = Math.log(4);
const ANALYTIC_DEFAULTS = { mu_data: 1.0, sd_data: 0.8, mu_g: -2.5, sd_g: 1.5 };
const DEFAULT_LR = 0.5;
const TRAIN_DELAY_MS = 45;
const TRAIN_MAX_STEPS = 600;
const DRAWN_POINTS = 121; // a drawn density: heights every 0.1 over -6..6 (gannet.playground.analytic)
const DRAWN_RANGE = [-6, 6];
const MAX_COMPONENTS = 6;
const DEFAULT_MIXTURE = { means: [-2, 2], sds: [0.5, 0.7], weights: [1, 1] };
const LIVE_LRS = ["0.0001", "0.0003", "0.001", "0.003", "0.01"];
const DEFAULT_POINTS = [ // the painted example: a small smile
  [-1.5, 1.2], [-1.3, 1.2], [1.3, 1.2], [1.5, 1.2],
  [-2, -0.6], [-1.6, -1.2], [-1, -1.6], [-0.3, -1.8], [0.3, -1.8], [1, -1.6], [1.6, -1.2], [2, -0.6],
];
const PHASE_DELAY_MS = 650;
const WEAK_D_MARGIN = 0.05; // D's loss within this of log 4: D near chance, the JSD bound near 0

const $ = (id) => document.getElementById(id);

/* ------------------------------------------------------------------ state (test hooks) */

const S = (window.gannetState = {
  ready: false,
  view: "analytic",
  analytic: {
    params: { ...ANALYTIC_DEFAULTS },
    lr: DEFAULT_LR,
    data: { kind: "gaussian" }, // or {kind: "mixture", means, sds, weights} or {kind: "drawn", values}
    grid: null, // the integration grid the server used {x_min, x_max, n}
    feedback: null, // the server's verdict on the last Train step
    criterion: null,
    jsd: null,
    minusLog4: null,
    gradient: null,
    x: [],
    pData: [],
    pG: [],
    dStar: [], // exactly the D* values drawn
    pending: false,
    training: false,
    trainSteps: 0,
    trainHistory: [], // C(G) after each Train step
    stopReason: null,
    updates: 0,
    error: null,
  },
  live: {
    session: null,
    settings: null,
    running: false,
    busy: false,
    step: 0,
    last: null,
    history: [], // {step, d, g, dReal, dFake}
    renders: 0,
    checksum: null, // a number summarising the plotted p_g and D
    error: null,
    points: DEFAULT_POINTS.map((p) => [...p]), // the painted data set
    phases: [], // every slow-motion phase shown: {name, index, k, step}
    phase: null,
    showManifold: true,
    showArrows: true,
    drawn: null, // what the 2-D plot last drew: {manifold: [[x, y]...], arrows: [...]} (pixels)
  },
  exports: 0,
  lastExport: null,
});

/* ------------------------------------------------------------------ helpers */

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  let payload = null;
  try {
    payload = await response.json();
  } catch (e) {
    throw new HttpError(response.status, `bad response from the server (${response.status})`);
  }
  if (!response.ok) throw new HttpError(response.status, payload.error || response.statusText);
  return payload;
}
window.gannetApi = api; // for the views in their own modules (explorer.js)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/** A number with a real minus sign. */
function fmt(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const s = v.toFixed(digits);
  if (Number(s) === 0) return s.replace("-", ""); // no "−0.000000"
  return s.startsWith("-") ? "−" + s.slice(1) : s;
}

function fmtSci(v) {
  if (!Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  if (Math.abs(v) >= 1e-3) return fmt(v, 4);
  const [m, e] = v.toExponential(1).split("e");
  return `${m.replace("-", "−")}·10${superscript(e)}`;
}

function superscript(exp) {
  const map = { "-": "⁻", "+": "", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  return [...String(exp)].map((c) => map[c] ?? c).join("");
}

function niceTicks(lo, hi, count) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const ticks = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

function tickLabel(v, ticks) {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const digits = step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(step) - 1e-9));
  return fmt(v, digits);
}

/** Size a canvas for the screen's pixel ratio; returns its 2-D context and CSS size. */
function prepCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  const w = Math.max(50, Math.round(rect.width));
  const h = Math.max(50, Math.round(rect.height));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  return { ctx, w, h };
}

/** A rectangle of the canvas with data ranges: maps data to pixels, draws axes. */
class Axes {
  constructor(ctx, box, xr, yr) {
    this.ctx = ctx;
    this.box = box;
    this.xr = xr;
    this.yr = yr;
  }
  X(v) {
    return this.box.x + ((v - this.xr[0]) / (this.xr[1] - this.xr[0])) * this.box.w;
  }
  Y(v) {
    return this.box.y + this.box.h - ((v - this.yr[0]) / (this.yr[1] - this.yr[0])) * this.box.h;
  }
  /** Grid, ticks, labels. opts: {xticks, yticks, xlabels: bool, xlabel, ylabel, title, yfmt} */
  frame(opts) {
    const { ctx, box } = this;
    ctx.save();
    ctx.lineWidth = 1;
    ctx.strokeStyle = COLORS.grid;
    for (const t of opts.xticks || []) {
      const x = Math.round(this.X(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, box.y); ctx.lineTo(x, box.y + box.h); ctx.stroke();
    }
    for (const t of opts.yticks || []) {
      const y = Math.round(this.Y(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(box.x, y); ctx.lineTo(box.x + box.w, y); ctx.stroke();
    }
    ctx.strokeStyle = COLORS.axis;
    ctx.beginPath();
    ctx.moveTo(box.x + 0.5, box.y);
    ctx.lineTo(box.x + 0.5, box.y + box.h + 0.5);
    ctx.lineTo(box.x + box.w, box.y + box.h + 0.5);
    ctx.stroke();
    ctx.fillStyle = COLORS.muted;
    ctx.font = FONT;
    if (opts.xlabels !== false) {
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      for (const t of opts.xticks || []) ctx.fillText(tickLabel(t, opts.xticks), this.X(t), box.y + box.h + 6);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of opts.yticks || []) {
      const label = opts.yfmt ? opts.yfmt(t) : tickLabel(t, opts.yticks);
      ctx.fillText(label, box.x - 7, this.Y(t));
    }
    if (opts.xlabel) {
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillText(opts.xlabel, box.x + box.w / 2, box.y + box.h + 24);
    }
    if (opts.ylabel) {
      ctx.save();
      ctx.translate(box.x - (opts.ylabelOffset || 40), box.y + box.h / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(opts.ylabel, 0, 0);
      ctx.restore();
    }
    if (opts.title) {
      ctx.fillStyle = COLORS.ink;
      ctx.font = BOLD;
      ctx.textAlign = "left";
      ctx.textBaseline = "bottom";
      ctx.fillText(opts.title, box.x, box.y - 6);
    }
    ctx.restore();
  }
  clip() {
    this.ctx.save();
    this.ctx.beginPath();
    this.ctx.rect(this.box.x, this.box.y - 1, this.box.w, this.box.h + 2);
    this.ctx.clip();
  }
  unclip() {
    this.ctx.restore();
  }
  curve(xs, ys, { color, width = 2.5, dash = null, fill = null }) {
    const { ctx } = this;
    const path = new Path2D();
    let started = false;
    for (let i = 0; i < xs.length; i++) {
      if (ys[i] === null || !Number.isFinite(ys[i])) { started = false; continue; }
      const px = this.X(xs[i]), py = this.Y(ys[i]);
      if (!started) { path.moveTo(px, py); started = true; } else path.lineTo(px, py);
    }
    if (fill) {
      const area = new Path2D();
      area.moveTo(this.X(xs[0]), this.Y(this.yr[0] > 0 ? this.yr[0] : 0));
      for (let i = 0; i < xs.length; i++) {
        if (ys[i] !== null && Number.isFinite(ys[i])) area.lineTo(this.X(xs[i]), this.Y(ys[i]));
      }
      area.lineTo(this.X(xs[xs.length - 1]), this.Y(this.yr[0] > 0 ? this.yr[0] : 0));
      area.closePath();
      ctx.fillStyle = fill;
      ctx.fill(area);
    }
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.lineJoin = "round";
    ctx.lineCap = dash ? "butt" : "round";
    if (dash) ctx.setLineDash(dash);
    ctx.stroke(path);
    ctx.restore();
  }
  hline(y, { color = COLORS.half, dash = [4, 4], width = 1.2, label = null, labelSide = "right" } = {}) {
    const { ctx, box } = this;
    const py = Math.round(this.Y(y)) + 0.5;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.beginPath(); ctx.moveTo(box.x, py); ctx.lineTo(box.x + box.w, py); ctx.stroke();
    if (label) {
      ctx.fillStyle = color;
      ctx.font = FONT;
      ctx.textBaseline = "bottom";
      ctx.textAlign = labelSide;
      ctx.fillText(label, labelSide === "right" ? box.x + box.w - 4 : box.x + 6, py - 3);
    }
    ctx.restore();
  }
}

function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** Draw a small text box with a coloured marker at the top-left or top-right of an Axes. */
function note(ax, lines, side = "right") {
  const { ctx, box } = ax;
  ctx.save();
  ctx.font = FONT;
  const width = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 14;
  const height = lines.length * 17 + 8;
  const x = side === "right" ? box.x + box.w - width - 8 : box.x + 8;
  const y = box.y + 8;
  ctx.fillStyle = "rgba(255, 255, 255, 0.88)";
  ctx.strokeStyle = "#dde2ea";
  ctx.beginPath();
  ctx.roundRect(x, y, width, height, 6);
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = COLORS.ink;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  lines.forEach((l, i) => ctx.fillText(l, x + 7, y + 6 + i * 17));
  ctx.restore();
}

/* ------------------------------------------------------------------ the analytic view */

const A = S.analytic;
const SLIDERS = [
  ["mu-g", "mu_g"],
  ["sd-g", "sd_g"],
  ["mu-data", "mu_data"],
  ["sd-data", "sd_data"],
];
let requestSeq = 0; // every analytic request gets a number; only newer answers are drawn
let appliedSeq = 0;
let analyticInFlight = false;
let analyticAgain = false;

function syncInputs() {
  for (const [id, key] of SLIDERS) {
    const v = A.params[key];
    $(id).value = String(v);
    if (document.activeElement !== $(id + "-num")) $(id + "-num").value = v.toFixed(2);
  }
  $("lr").value = String(A.lr);
  if (document.activeElement !== $("lr-num")) $("lr-num").value = A.lr.toFixed(2);
}

function readInput(el) {
  const v = parseFloat(el.value);
  if (!Number.isFinite(v)) return null;
  return Math.min(parseFloat(el.max), Math.max(parseFloat(el.min), v));
}

function bindAnalyticInputs() {
  for (const [id, key] of SLIDERS) {
    const onChange = (el) => {
      const v = readInput(el);
      if (v === null) return;
      if (A.training && (key === "mu_g" || key === "sd_g")) stopTraining("you moved the generator");
      A.params[key] = v;
      if (el.type === "range") $(id + "-num").value = v.toFixed(2);
      else $(id).value = String(v);
      if (!A.training) {
        A.trainHistory = []; // a new starting point: the chart starts over
        A.stopReason = null;
      }
      requestAnalytic();
    };
    $(id).addEventListener("input", () => onChange($(id)));
    $(id + "-num").addEventListener("input", () => onChange($(id + "-num")));
    $(id + "-num").addEventListener("change", () => syncInputs());
  }
  const onLr = (el) => {
    const v = readInput(el);
    if (v === null) return;
    A.lr = v;
    if (el.type === "range") $("lr-num").value = v.toFixed(2);
    else $("lr").value = String(v);
  };
  $("lr").addEventListener("input", () => onLr($("lr")));
  $("lr-num").addEventListener("input", () => onLr($("lr-num")));
  $("train").addEventListener("click", () => (A.training ? stopTraining("stopped") : startTraining()));
  $("reset").addEventListener("click", resetAnalytic);
}

function requestAnalytic() {
  A.pending = true;
  if (analyticInFlight) {
    analyticAgain = true;
    return;
  }
  analyticInFlight = true;
  analyticAgain = false;
  const seq = ++requestSeq;
  const p = A.params;
  const query = new URLSearchParams({
    mu_data: String(p.mu_data), sd_data: String(p.sd_data), mu_g: String(p.mu_g), sd_g: String(p.sd_g),
  });
  const call = A.data.kind === "gaussian"
    ? api("/api/analytic?" + query)
    : api("/api/analytic", { ...p, data: A.data });
  call
    .then((r) => applyAnalytic(r, seq))
    .catch((e) => showAnalyticError(e))
    .finally(() => {
      analyticInFlight = false;
      if (analyticAgain) requestAnalytic();
      else A.pending = A.training;
    });
}

function applyAnalytic(r, seq) {
  if (seq < appliedSeq) return;
  appliedSeq = seq;
  A.criterion = r.criterion;
  A.jsd = r.jsd;
  A.minusLog4 = r.minus_log_4;
  A.gradient = r.gradient;
  A.x = r.x;
  A.pData = r.p_data;
  A.pG = r.p_g;
  A.dStar = r.d_star;
  A.grid = r.grid;
  A.shownData = r.data;
  A.shownParams = { ...r.params };
  A.error = null;
  A.updates += 1;
  renderReadout();
  drawAnalytic();
}

function showAnalyticError(e) {
  A.error = e.message;
  setStatus("analytic-status", `Server error: ${e.message}`, "warn");
}

function setStatus(id, text, kind = "") {
  const el = $(id);
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

function renderReadout() {
  const gap = A.criterion - A.minusLog4;
  const c = $("readout-c");
  c.textContent = Math.abs(A.criterion) < 5e-7 && A.criterion !== 0 ? fmtSci(A.criterion) : fmt(A.criterion, 6);
  c.classList.toggle("at-min", gap < 1e-3);
  $("readout-jsd").textContent = fmt(A.jsd, 6) + " nats";
  $("readout-min").textContent = fmt(A.minusLog4, 6);
  $("readout-gap").textContent = fmt(gap, 6);
  $("readout-grad").textContent = `${fmtSci(A.gradient.mu_g)}, ${fmtSci(A.gradient.sd_g)}`;
  const frac = Math.min(1, Math.max(0, gap / LOG4)); // C ranges over [-log 4, 0]
  $("gauge-marker").style.left = (frac * 100).toFixed(2) + "%";
  if (!A.training) {
    if (gap < 1e-3) setStatus("analytic-status", "p_g matches p_data: C(G) is at its minimum −log 4 and D* = ½ everywhere.", "good");
    else if (!A.stopReason) setStatus("analytic-status", A.data.kind === "drawn" && drawing ? "Drawing the data density…" : "Move the orange curve onto the blue one, or press Train.");
  }
  drawHistory();
}

function drawAnalytic() {
  const { ctx, w, h } = prepCanvas($("analytic-plot"));
  const left = 64, right = 22, top = 30, gap = 58, bottom = 48;
  const avail = h - top - gap - bottom;
  const hTop = Math.round(avail * 0.64), hBot = avail - hTop;
  const xr = [A.x[0], A.x[A.x.length - 1]];
  const peak = Math.max(...A.pData, ...A.pG);
  const ymax = drawing && analyticAxes ? analyticAxes.yr[1] : Math.max(0.2, peak * 1.12);
  const xticks = niceTicks(xr[0], xr[1], 12);

  const dens = new Axes(ctx, { x: left, y: top, w: w - left - right, h: hTop }, xr, [0, ymax]);
  analyticAxes = dens;
  const drawTitle = A.data.kind === "drawn" ? "Densities: draw the data (blue) here; generator in orange" : "Densities: data (blue) and generator (orange)";
  dens.frame({ xticks, yticks: niceTicks(0, ymax, 5), xlabels: true, ylabel: "density", title: drawTitle });
  dens.clip();
  // p_g under p_data, wider, so both stay visible when the curves coincide.
  dens.curve(A.x, A.pG, { color: COLORS.gen, width: 4, fill: alpha(COLORS.gen, 0.16) });
  dens.curve(A.x, A.pData, { color: COLORS.data, width: 2.2, fill: alpha(COLORS.data, 0.14) });
  dens.unclip();
  // Centre markers and the direction a gradient step would move the generator's centre.
  const p = A.params;
  if (A.data.kind === "gaussian") markCentre(dens, p.mu_data, COLORS.data);
  markCentre(dens, p.mu_g, COLORS.gen);
  const g = A.gradient;
  if (g && Math.abs(g.mu_g) > 1e-6) {
    const dx = Math.max(-1.5, Math.min(1.5, -g.mu_g * 3));
    arrow(ctx, dens.X(p.mu_g), dens.Y(ymax * 0.06), dens.X(p.mu_g + dx), dens.Y(ymax * 0.06), COLORS.gen);
  }
  const dataNote = A.data.kind === "gaussian" ? `p_data = N(${fmt(p.mu_data, 2)}, ${fmt(p.sd_data, 2)}²)`
    : A.data.kind === "mixture" ? `p_data: a mixture of ${A.data.means.length} bell curves` : "p_data: drawn by hand";
  note(dens, [dataNote, `p_g = N(${fmt(p.mu_g, 2)}, ${fmt(p.sd_g, 2)}²)`]);

  const yBot = top + hTop + gap;
  const disc = new Axes(ctx, { x: left, y: yBot, w: w - left - right, h: hBot }, xr, [0, 1]);
  disc.frame({ xticks, yticks: [0, 0.5, 1], yfmt: (t) => (t === 0.5 ? "½" : String(t)), xlabel: "x", ylabel: "D*(x)", title: "Optimal discriminator D*(x) = p_data / (p_data + p_g)" });
  disc.hline(0.5, { label: "½: D cannot tell real from fake", labelSide: "left" });
  disc.clip();
  disc.curve(A.x, A.dStar, { color: COLORS.dstar, width: 2.6, dash: [9, 6] });
  disc.unclip();
}

function markCentre(ax, mu, color) {
  if (mu < ax.xr[0] || mu > ax.xr[1]) return;
  const { ctx } = ax;
  const x = ax.X(mu), y = ax.box.y + ax.box.h;
  ctx.save();
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.moveTo(x, y - 1);
  ctx.lineTo(x - 6, y + 9);
  ctx.lineTo(x + 6, y + 9);
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

function arrow(ctx, x0, y0, x1, y1, color) {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (len < 8) return;
  const ux = (x1 - x0) / len, uy = (y1 - y0) / len;
  ctx.save();
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1 - ux * 8, y1 - uy * 8); ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - ux * 10 - uy * 5, y1 - uy * 10 + ux * 5);
  ctx.lineTo(x1 - ux * 10 + uy * 5, y1 - uy * 10 - ux * 5);
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

function drawHistory() {
  const { ctx, w, h } = prepCanvas($("analytic-history"));
  const hist = A.trainHistory;
  const box = { x: 44, y: 18, w: w - 52, h: h - 30 };
  if (hist.length < 2) {
    ctx.fillStyle = COLORS.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("C(G) step by step appears here while training", w / 2, h / 2);
    return;
  }
  const lo = -LOG4, hi = Math.max(...hist, lo + 0.05);
  const pad = (hi - lo) * 0.08;
  const ax = new Axes(ctx, box, [0, Math.max(hist.length - 1, 1)], [lo - pad, hi + pad]);
  ax.frame({ yticks: [lo, hi], yfmt: (t) => fmt(t, 2), xlabels: false, title: `C(G) during training: ${steps(hist.length - 1)}` });
  ax.hline(lo, { color: COLORS.dstar, label: "−log 4" });
  ax.curve(hist.map((_, i) => i), hist, { color: COLORS.ink, width: 1.8 });
}

async function startTraining() {
  if (A.training) return;
  A.training = true;
  A.pending = true;
  A.stopReason = null;
  if (A.trainHistory.length === 0 && A.criterion !== null) A.trainHistory = [A.criterion];
  A.trainSteps = 0;
  $("train").textContent = "■ Stop";
  $("train").classList.add("running");
  setStatus("analytic-status", "Training: gradient steps on C(G)…");
  try {
    while (A.training) {
      const seq = ++requestSeq;
      const body = { ...A.params, lr: A.lr, steps: 1 };
      if (A.data.kind !== "gaussian") body.data = A.data;
      const r = await api("/api/analytic/step", body);
      if (!A.training) break;
      A.params.mu_g = r.params.mu_g;
      A.params.sd_g = r.params.sd_g;
      syncInputs();
      applyAnalytic(r, seq);
      A.trainSteps += 1;
      A.trainHistory.push(r.criterion);
      drawHistory();
      const gap = r.criterion - r.minus_log_4;
      const fb = (A.feedback = r.feedback);
      const after = `after ${steps(A.trainSteps)}`;
      if (fb.verdict === "converged") { stopTraining(`converged ${after}: C(G) = −log 4, so p_g = p_data and D* = ½ everywhere`, "good"); break; }
      if (fb.verdict !== "descending") { stopTraining(`stopped ${after}. ${fb.message}`, "warn"); break; }
      if (A.trainSteps >= TRAIN_MAX_STEPS) { stopTraining(`stopped ${after} (the limit): C(G) + log 4 = ${fmt(gap, 6)}, still falling; press Train to go on`); break; }
      setStatus("analytic-status", `Training: step ${A.trainSteps}, C(G) + log 4 = ${fmt(gap, 6)}`);
      await sleep(TRAIN_DELAY_MS);
    }
  } catch (e) {
    stopTraining("");
    showAnalyticError(e);
  }
}

function steps(n) {
  return `${n} step${n === 1 ? "" : "s"}`;
}

function stopTraining(reason, kind = "") {
  if (!A.training) return;
  A.training = false;
  A.pending = analyticInFlight;
  A.stopReason = reason || null;
  $("train").textContent = "▶ Train";
  $("train").classList.remove("running");
  if (reason) {
    const text = reason.charAt(0).toUpperCase() + reason.slice(1);
    setStatus("analytic-status", /[.!]$/.test(text) ? text : text + ".", kind);
  }
}

function resetAnalytic() {
  stopTraining("");
  A.feedback = null;
  A.params = { ...ANALYTIC_DEFAULTS };
  A.lr = DEFAULT_LR;
  A.trainHistory = [];
  A.trainSteps = 0;
  A.stopReason = null;
  syncInputs();
  requestAnalytic();
}

/* ------------------------------------------------------------------ the analytic view's data */

let analyticAxes = null; // the density Axes last drawn (maps the mouse to x and density)
let drawing = false;
let lastDraw = null;

const knotX = (i) => DRAWN_RANGE[0] + (i * (DRAWN_RANGE[1] - DRAWN_RANGE[0])) / (DRAWN_POINTS - 1);

/** Heights of the current data density at the drawing knots (to start a drawing from it). */
function dataAtKnots() {
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
const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

function setDataKind(kind, { request = true } = {}) {
  if (A.training) stopTraining("the data changed");
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
  if (request) requestAnalytic();
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
        requestAnalytic();
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
  requestAnalytic();
}

/** Set the drawn heights under the pointer, and on the knots between it and the last position. */
function drawAt(event) {
  const ax = analyticAxes;
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
  if (values.some((v) => v > 0)) requestAnalytic();
}

/** After a stroke: rescale the heights to area 1, so what is drawn is what is computed. */
function normaliseDrawing() {
  const v = A.data.values;
  let mass = 0;
  for (let i = 1; i < v.length; i++) mass += (0.5 * (v[i] + v[i - 1]) * (DRAWN_RANGE[1] - DRAWN_RANGE[0])) / (DRAWN_POINTS - 1);
  if (mass > 0) A.data.values = v.map((h) => round(h / mass, 4));
  A.drawnValues = A.data.values;
  requestAnalytic();
}

function bindDataInputs() {
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
    requestAnalytic();
  });
  $("draw-bell").addEventListener("click", () => {
    A.data.values = (() => { const keep = A.data; A.data = { kind: "gaussian" }; const v = dataAtKnots(); A.data = keep; return v; })();
    A.drawnValues = A.data.values;
    A.trainHistory = [];
    requestAnalytic();
  });
  const canvas = $("analytic-plot");
  canvas.addEventListener("pointerdown", (e) => {
    if (A.data.kind !== "drawn") return;
    if (A.training) stopTraining("you are drawing the data");
    drawing = true;
    lastDraw = null;
    canvas.setPointerCapture(e.pointerId);
    A.trainHistory = [];
    drawAt(e);
  });
  canvas.addEventListener("pointermove", (e) => { if (drawing) drawAt(e); });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    lastDraw = null;
    normaliseDrawing();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
}

/* ------------------------------------------------------------------ the live view */

const L = S.live;
let liveQueue = Promise.resolve();
let liveStarted = false;

/** Run live operations one after the other (start, step, restart never overlap). */
function enqueue(fn) {
  liveQueue = liveQueue.then(fn).catch((e) => liveError(e));
  return liveQueue;
}

function liveSettings() {
  const settings = {
    data: $("live-data").value,
    loss: $("live-loss").value,
    k: Math.min(10, Math.max(1, parseInt($("live-k").value, 10) || 1)),
    lr: parseFloat($("live-lr").value),
    seed: Math.min(2147483647, Math.max(0, parseInt($("live-seed").value, 10) || 0)),
  };
  if (settings.data === "painted") settings.points = L.points.map((p) => [...p]);
  if (settings.data === "drawn-1d") settings.density = A.data.kind === "drawn" ? [...A.data.values] : dataAtKnots();
  return settings;
}

function bindLiveInputs() {
  $("live-play").addEventListener("click", () => (L.running ? pauseLive() : playLive()));
  $("live-step").addEventListener("click", () => enqueue(slowMotionStep));
  $("live-reset").addEventListener("click", () => restartLive());
  for (const id of ["live-data", "live-loss", "live-k", "live-lr", "live-seed"]) {
    $(id).addEventListener("change", () => { updatePaintTools(); restartLive(); });
  }
  $("show-manifold").addEventListener("change", () => { L.showManifold = $("show-manifold").checked; drawLive(); });
  $("show-arrows").addEventListener("change", () => { L.showArrows = $("show-arrows").checked; drawLive(); });
  $("paint-clear").addEventListener("click", () => { L.points = []; restartLive(); });
  $("paint-example").addEventListener("click", () => { L.points = DEFAULT_POINTS.map((p) => [...p]); restartLive(); });
  bindPainting();
  window.addEventListener("pagehide", () => {
    if (L.session && navigator.sendBeacon) {
      navigator.sendBeacon("/api/live/stop", JSON.stringify({ session: L.session }));
    }
  });
}

async function liveStart() {
  const old = L.session;
  L.session = null;
  if (old) api("/api/live/stop", { session: old }).catch(() => {});
  L.settings = liveSettings();
  $("live-k").value = String(L.settings.k);
  $("live-seed").value = String(L.settings.seed);
  L.phase = null;
  if (L.settings.data === "painted" && L.points.length === 0) {
    L.last = null;
    L.history = [];
    drawLive();
    setStatus("live-status", "Paint some points on the plot: click, or drag to paint a stroke.", "warn");
    return;
  }
  setStatus("live-status", "Building G and D…");
  L.busy = true;
  const r = await api("/api/live/start", L.settings);
  L.busy = false;
  L.session = r.session;
  L.history = [];
  applyLive(r);
  setStatus("live-status", L.running ? "Training…" : "Ready: press Play, or Step for one iteration of Algorithm 1.");
}

async function liveStep(n) {
  if (!L.session) await liveStart();
  if (!L.session) return;
  L.busy = true;
  try {
    const r = await api("/api/live/step", { session: L.session, n });
    applyLive(r);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) {
      setStatus("live-status", "The session ended on the server; starting a new one.", "warn");
      await liveStart();
      return;
    }
    throw e;
  } finally {
    L.busy = false;
  }
}

function playLive() {
  if (L.running) return;
  L.running = true;
  L.paused = false;
  L.phase = null;
  showPhase(null);
  $("live-play").textContent = "❚❚ Pause";
  $("live-play").classList.add("running");
  $("live-step").disabled = true;
  setStatus("live-status", "Training…");
  const loop = async () => {
    while (L.running) {
      await enqueue(() => (L.running ? liveStep(parseInt($("live-speed").value, 10)) : null));
      await nextFrame();
    }
  };
  loop();
}

function pauseLive() {
  L.running = false;
  $("live-play").textContent = "▶ Play";
  $("live-play").classList.remove("running");
  $("live-step").disabled = false;
  L.paused = true;
  setStatus("live-status", `Paused at iteration ${L.step}.`);
}

function restartLive() {
  const wasRunning = L.running;
  if (wasRunning) pauseLive();
  enqueue(async () => {
    await liveStart();
    if (wasRunning) playLive();
  });
}

function liveError(e) {
  L.error = e.message;
  pauseLive();
  setStatus("live-status", `Server error: ${e.message}`, "warn");
}

function applyLive(r) {
  L.last = r;
  L.step = r.step;
  L.error = null;
  const cov = r.coverage;
  L.history.push({
    step: r.step, d: r.losses.d, g: r.losses.g, dReal: r.d_real, dFake: r.d_fake, jsd: r.jsd_estimate,
    covered: cov ? cov.modes_covered / cov.n_modes : null, hq: cov ? cov.high_quality_fraction : null,
  });
  if (L.history.length > 1500) L.history = L.history.filter((_, i) => i % 2 === 0 || i === L.history.length - 1);
  $("live-stepcount").textContent = String(r.step);
  $("live-epoch").textContent = `${r.epoch} (${r.iterations_per_epoch} iterations each)`;
  $("live-dloss").textContent = fmt(r.losses.d, 4);
  $("live-gloss").textContent = fmt(r.losses.g, 4);
  $("live-dreal").textContent = fmt(r.d_real, 3);
  $("live-dfake").textContent = fmt(r.d_fake, 3);
  $("live-jsd").textContent = `≥ ${fmt(r.jsd_estimate, 3)} nats`;
  // A D near chance (loss near log 4) bounds the JSD by about 0 whatever G does: say so.
  const weakD = Number.isFinite(r.losses.d) && r.losses.d > LOG4 - WEAK_D_MARGIN;
  $("live-jsd-note").textContent = weakD
    ? "D's loss is near log 4: D is too weak to tell, so this bound says little about p_g."
    : "a lower bound: equal to the JSD only for the optimal D.";
  $("live-jsd-note").classList.toggle("warn", weakD);
  if (r.dim === 1) {
    $("live-extra-label").innerHTML = `p<sub>g</sub> mean ± std (data ${fmt(r.data_mean, 2)} ± ${fmt(r.data_std, 2)})`;
    $("live-extra").textContent = `${fmt(r.g_mean, 2)} ± ${fmt(r.g_std, 2)}`;
  } else {
    // gannet's mode metric (gannet.metrics.modes, as `gannet eval modes` reports it).
    const cov = r.coverage;
    $("live-extra-label").textContent = r.settings.data === "painted" ? "painted points covered" : "modes covered";
    $("live-extra").textContent = `${cov.modes_covered} / ${cov.n_modes} (${(cov.high_quality_fraction * 100).toFixed(1)}% high quality)`;
  }
  if (L.paused && !L.running && !L.phase) setStatus("live-status", `Paused at iteration ${r.step}.`);
  if (r.diverged) setStatus("live-status", "Training diverged (a loss is not finite): lower the learning rate and Reset.", "warn");
  drawLive();
}

function drawLive() {
  const r = L.last;
  if (!r) {
    if ($("live-data").value === "painted") drawPaintOnly();
    return;
  }
  const legend = $("live-legend");
  if (r.dim === 1) {
    $("live-title").textContent = r.settings.data === "drawn-1d" ? "1-D: a neural G learns the analytic tab's data" : "1-D: a neural G learns a bell curve";
    legend.innerHTML = '<span class="key"><i class="sw data"></i><span>data p<sub>data</sub></span></span>' +
      '<span class="key"><i class="sw gen"></i><span>G\'s samples p<sub>g</sub> (histogram)</span></span>' +
      '<span class="key"><i class="sw dstar"></i><span>trained D(x)</span></span>';
    drawLive1d(r);
  } else {
    const what = { ring: "a ring of 8 Gaussians", grid: "a grid of 25 Gaussians", painted: `your ${r.modes.length} painted points` }[r.settings.data];
    $("live-title").textContent = `2-D: a neural G learns ${what}`;
    legend.innerHTML = '<span class="key"><i class="sw ring"></i>data modes</span>' +
      '<span class="key"><i class="sw dot"></i>G\'s samples</span>' +
      '<span class="key"><i class="sw heat"></i>D(x): 0 fake · ½ · 1 real</span>' +
      (L.showManifold ? '<span class="key"><i class="sw mani"></i>G(z) of a z grid</span>' : "") +
      (L.showArrows ? '<span class="key"><i class="sw arrow"></i>−∇ of G\'s loss</span>' : "");
    drawLive2d(r);
  }
  drawLossChart();
  drawMeansChart();
  drawMetricsChart();
  L.renders += 1;
}

function checksum(values) {
  let s = 0;
  values.forEach((v, i) => { if (v !== null) s += v * ((i % 97) + 1); });
  return s;
}

function drawLive1d(r) {
  const { ctx, w, h } = prepCanvas($("live-plot"));
  const left = 64, right = 22, top = 30, gap = 58, bottom = 48;
  const avail = h - top - gap - bottom;
  const hTop = Math.round(avail * 0.64), hBot = avail - hTop;
  const xr = r.range;
  const dens = r.hist.density;
  const pdfMax = Math.max(...r.p_data);
  const ymax = Math.max(pdfMax * 1.15, Math.min(Math.max(...dens), pdfMax * 2.5) * 1.05);
  const xticks = niceTicks(xr[0], xr[1], 10);
  const top1 = new Axes(ctx, { x: left, y: top, w: w - left - right, h: hTop }, xr, [0, ymax]);
  top1.frame({ xticks, yticks: niceTicks(0, ymax, 5), ylabel: "density", title: "Data density and G's samples" });
  top1.clip();
  ctx.fillStyle = alpha(COLORS.gen, 0.55);
  ctx.strokeStyle = alpha(COLORS.gen, 0.95);
  ctx.lineWidth = 1;
  const edges = r.hist.edges;
  for (let i = 0; i < dens.length; i++) {
    if (!(dens[i] > 0)) continue;
    const x0 = top1.X(edges[i]), x1 = top1.X(edges[i + 1]);
    const y = top1.Y(dens[i]);
    ctx.fillRect(x0, y, x1 - x0, top1.Y(0) - y);
    ctx.strokeRect(x0 + 0.5, y + 0.5, x1 - x0 - 1, top1.Y(0) - y);
  }
  top1.curve(r.x, r.p_data, { color: COLORS.data, width: 2.5, fill: alpha(COLORS.data, 0.1) });
  top1.unclip();
  const lines = [`iteration ${r.step}`, `p_g: ${fmt(r.g_mean, 2)} ± ${fmt(r.g_std, 2)}`];
  if (r.outside > 0.01) lines.push(`${(r.outside * 100).toFixed(0)}% of samples off the plot`);
  note(top1, lines);

  const yBot = top + hTop + gap;
  const bot = new Axes(ctx, { x: left, y: yBot, w: w - left - right, h: hBot }, xr, [0, 1]);
  bot.frame({ xticks, yticks: [0, 0.5, 1], yfmt: (t) => (t === 0.5 ? "½" : String(t)), xlabel: "x", ylabel: "D(x)", title: "The trained discriminator D(x)" });
  bot.hline(0.5, { label: "½: D cannot tell", labelSide: "left" });
  bot.clip();
  bot.curve(r.x, r.d, { color: COLORS.dstar, width: 2.6, dash: [9, 6] });
  bot.unclip();
  L.checksum = checksum(dens) + checksum(r.d);
}

/** D in [0, 1] -> colour: purple (fake) - white (½) - green (real). */
function heatColor(d) {
  const lo = [142, 124, 195], mid = [255, 255, 255], hi = [44, 160, 44];
  const t = Math.min(1, Math.max(0, d));
  const [a, b, u] = t < 0.5 ? [lo, mid, t / 0.5] : [mid, hi, (t - 0.5) / 0.5];
  const s = 0.85; // keep the map light so the samples stand out
  return a.map((c, i) => Math.round(255 - s * (255 - (c + (b[i] - c) * u))));
}

function drawLive2d(r) {
  const { ctx, w, h } = prepCanvas($("live-plot"));
  const narrow = w < 700; // a phone: the map alone, the colour bar beside it, no bar chart
  const top = 30, bottom = 48, left = narrow ? 44 : 64, barW = narrow ? 10 : 16;
  const side = Math.max(100, Math.min(h - top - bottom, narrow ? w - left - 92 : w - left - 330));
  const box = { x: left, y: top, w: side, h: side };
  const ax = new Axes(ctx, box, r.range, r.range);
  live2d = ax;
  // Heat map of D, drawn through a small offscreen image and scaled up smoothly.
  const n = r.heat.size;
  const img = document.createElement("canvas");
  img.width = n;
  img.height = n;
  const ictx = img.getContext("2d");
  const data = ictx.createImageData(n, n);
  r.heat.values.forEach((row, i) => row.forEach((v, j) => {
    const [cr, cg, cb] = heatColor(v === null ? 0.5 : v);
    const k = (i * n + j) * 4;
    data.data[k] = cr; data.data[k + 1] = cg; data.data[k + 2] = cb; data.data[k + 3] = 255;
  }));
  ictx.putImageData(data, 0, 0);
  ctx.save();
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(img, box.x, box.y, box.w, box.h);
  ctx.restore();
  const ticks = niceTicks(r.range[0], r.range[1], 8);
  ax.frame({ xticks: ticks, yticks: ticks, xlabel: "x₁", ylabel: "x₂", title: "G's samples over D's map" });
  ax.clip();
  // Data modes: rings of radius 3 std (at least a few pixels).
  const rad = Math.max(7, (3 * r.mode_std / (r.range[1] - r.range[0])) * side);
  ctx.strokeStyle = COLORS.data;
  ctx.lineWidth = 2.5;
  for (const [mx, my] of r.modes) {
    ctx.beginPath();
    ctx.arc(ax.X(mx), ax.Y(my), rad, 0, 2 * Math.PI);
    ctx.stroke();
  }
  if (L.showManifold && r.manifold) drawManifold(ax, r.manifold);
  ctx.fillStyle = alpha(COLORS.gen, 0.85);
  ctx.strokeStyle = "rgba(122, 61, 0, 0.8)";
  ctx.lineWidth = 0.7;
  for (const [sx, sy] of r.samples) {
    if (sx === null || sy === null) continue;
    ctx.beginPath();
    ctx.arc(ax.X(sx), ax.Y(sy), 2.4, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
  const arrows = L.showArrows && r.arrows ? drawArrows(ax, r.arrows) : [];
  if (r.settings.data === "painted") drawPaintedPoints(ax);
  ax.unclip();
  L.drawn = { box, range: r.range, arrows, manifold: L.showManifold && r.manifold ? r.manifold.points.length : 0 };
  // Colour bar.
  const bx = box.x + box.w + 18, by = box.y, bh = box.h;
  const grad = ctx.createLinearGradient(0, by + bh, 0, by);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) grad.addColorStop(t, `rgb(${heatColor(t).join(",")})`);
  ctx.fillStyle = grad;
  ctx.fillRect(bx, by, barW, bh);
  ctx.strokeStyle = "#c9cfda";
  ctx.strokeRect(bx + 0.5, by + 0.5, barW, bh);
  ctx.fillStyle = COLORS.muted;
  ctx.font = FONT;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  ctx.fillText("1 real", bx + barW + 6, by + 6);
  ctx.fillText("½", bx + barW + 6, by + bh / 2);
  ctx.fillText("0 fake", bx + barW + 6, by + bh - 6);
  ctx.save();
  ctx.translate(bx + barW + 52, by + bh / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText("D(x)", 0, 0);
  ctx.restore();
  if (!narrow) drawModeBars(ctx, r, { x: bx + barW + 90, y: top, w: w - (bx + barW + 90) - 16, h: Math.min(side, 280) });
  L.checksum = checksum(r.samples.map((p) => p[0])) + checksum(r.heat.values.flat());
}

/**
 * High-quality samples of G per data mode: mode collapse at a glance. The numbers are gannet's
 * mode metric (gannet.metrics.modes, what `gannet eval modes` reports) on the session's samples:
 * a sample is high quality within 3 std of its nearest mode; a mode is covered with at least
 * min_count of them.
 */
function drawModeBars(ctx, r, box) {
  if (box.w < 120) return;
  const cov = r.coverage;
  const counts = cov.counts;
  const fair = cov.n_samples / counts.length;
  const ymax = Math.max(fair * 2, ...counts) * 1.05;
  const plot = { x: box.x + 44, y: box.y + 80, w: box.w - 44, h: box.h - 106 };
  const ax = new Axes(ctx, plot, [0, counts.length], [0, ymax]);
  ax.frame({ yticks: niceTicks(0, ymax, 4), xticks: [], ylabel: "high-quality samples", ylabelOffset: 36 });
  ctx.fillStyle = COLORS.ink;
  ctx.font = BOLD;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText("High-quality samples per mode", box.x, box.y);
  ctx.font = FONT;
  ctx.fillStyle = COLORS.muted;
  const pct = (cov.high_quality_fraction * 100).toFixed(1);
  const each = cov.min_count === 1 ? "1 sample" : `${cov.min_count} samples`;
  const kl = cov.kl_uniform === null ? "n/a" : `${fmt(cov.kl_uniform, 3)} nats`;
  ctx.fillText(`${cov.modes_covered} of ${cov.n_modes} modes covered (≥ ${each} each)`, box.x, box.y + 19);
  ctx.fillText(`${pct}% of ${cov.n_samples} samples within 3 std (${fmt(cov.threshold, 2)})`, box.x, box.y + 35);
  ctx.fillText(`KL to uniform over modes: ${kl}`, box.x, box.y + 51);
  const bw = ax.box.w / counts.length;
  counts.forEach((c, i) => {
    const x = ax.X(i) + bw * 0.15, y = ax.Y(c);
    ctx.fillStyle = c >= cov.min_count ? alpha(COLORS.gen, 0.85) : alpha(COLORS.gen, 0.3);
    ctx.fillRect(x, y, bw * 0.7, ax.Y(0) - y);
  });
  ax.hline(fair, { label: "fair share", color: COLORS.data });
  ctx.fillStyle = COLORS.muted;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const axisNote = { ring: "the 8 modes, around the ring", grid: "the 25 modes, row by row", painted: "one mode per painted point, in painting order" }[r.settings.data];
  ctx.fillText(axisNote, ax.box.x + ax.box.w / 2, ax.box.y + ax.box.h + 8);
}

function drawSeries(canvasId, title, series, yrange, refs) {
  const { ctx, w, h } = prepCanvas($(canvasId));
  const hist = L.history;
  const box = { x: 44, y: 40, w: w - 60, h: h - 62 };
  const x0 = hist.length ? hist[0].step : 0;
  const x1 = Math.max(x0 + 1, hist.length ? hist[hist.length - 1].step : 1);
  let [lo, hi] = yrange || [Infinity, -Infinity];
  if (!yrange) {
    for (const s of series) for (const p of hist) if (Number.isFinite(p[s.key])) { lo = Math.min(lo, p[s.key]); hi = Math.max(hi, p[s.key]); }
    for (const ref of refs) { lo = Math.min(lo, ref.y); hi = Math.max(hi, ref.y); }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    const pad = Math.max((hi - lo) * 0.1, 0.05);
    lo -= pad; hi += pad;
  }
  const ax = new Axes(ctx, box, [x0, x1], [lo, hi]);
  const xt = niceTicks(x0, x1, 4);
  ax.frame({ xticks: xt, yticks: niceTicks(lo, hi, 3) });
  ctx.fillStyle = COLORS.ink;
  ctx.font = BOLD;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(title, box.x, 2);
  for (const ref of refs) ax.hline(ref.y, { color: ref.color || COLORS.half, label: ref.label });
  ax.clip();
  for (const s of series) {
    ax.curve(hist.map((p) => p.step), hist.map((p) => p[s.key]), { color: s.color, width: 1.8 });
  }
  ax.unclip();
  // Legend: one row under the title.
  ctx.font = FONT;
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  let x = box.x;
  for (const s of series) {
    ctx.fillStyle = s.color;
    ctx.fillRect(x, box.y - 11, 16, 3);
    ctx.fillStyle = COLORS.ink;
    ctx.fillText(s.label, x + 21, box.y - 4);
    x += 21 + ctx.measureText(s.label).width + 14;
  }
}

function drawLossChart() {
  const loss = L.last ? L.last.settings.loss : "non-saturating";
  const gRef = loss === "minimax" ? -Math.log(2) : Math.log(2);
  drawSeries("live-losses", "Losses, by iteration", [
    { key: "d", label: "D's loss", color: COLORS.dstar },
    { key: "g", label: "G's loss", color: COLORS.gen },
  ], null, [
    { y: LOG4, label: "D at equilibrium: log 4", color: alpha(COLORS.dstar, 0.9) },
    { y: gRef, label: loss === "minimax" ? "G: −log 2" : "G: log 2", color: alpha(COLORS.gen, 0.9) },
  ]);
}

function drawMeansChart() {
  drawSeries("live-means", "What D says on average", [
    { key: "dReal", label: "D(x), real", color: COLORS.data },
    { key: "dFake", label: "D(G(z)), fake", color: COLORS.gen },
  ], [0, 1], [{ y: 0.5, label: "½" }]);
}


/* ------------------------------------------------------------------ slow motion, painting */

/** One iteration of Algorithm 1 as separate visible phases: k D updates, then one G update. */
async function slowMotionStep() {
  if (!L.session) await liveStart();
  if (!L.session) return;
  const k = L.settings.k;
  $("live-step").disabled = true;
  try {
    for (let j = 0; j <= k; j++) {
      const r = await api("/api/live/phase", { session: L.session });
      L.phase = r.phase;
      L.phases.push({ ...r.phase, step: r.step });
      showPhase(r.phase, r);
      applyLive(r);
      await sleep(PHASE_DELAY_MS);
      if (r.phase.name === "g") break;
    }
    setStatus("live-status", `Iteration ${L.step} done: ${k} D update${k === 1 ? "" : "s"}, then one G update. Step again, or Play.`);
  } finally {
    $("live-step").disabled = L.running;
  }
}

function showPhase(phase, r) {
  const el = $("live-phase");
  if (!phase) {
    el.textContent = "Step runs one iteration of Algorithm 1 in slow motion.";
    el.className = "phase";
    return;
  }
  el.className = "phase " + phase.name;
  el.textContent = phase.name === "d"
    ? `Phase: D update ${phase.index} of ${phase.k} (iteration ${r.step + 1}): D learns to tell real from fake, so its map changes; G's samples stay put.`
    : `Phase: G update (iteration ${r.step}): G moves its samples along the arrows, towards where D says "real"; D is held fixed.`;
}

function updatePaintTools() {
  const painted = $("live-data").value === "painted";
  $("paint-tools").hidden = !painted;
  $("live-plot").classList.toggle("drawable", painted);
}

let live2d = null; // the 2-D Axes last drawn (maps the mouse to data coordinates)
let painting = null;

function bindPainting() {
  const canvas = $("live-plot");
  const at = (e) => {
    const ax = live2d;
    if (!ax) return null;
    const rect = canvas.getBoundingClientRect();
    const px = e.clientX - rect.left, py = e.clientY - rect.top;
    if (px < ax.box.x || px > ax.box.x + ax.box.w || py < ax.box.y || py > ax.box.y + ax.box.h) return null;
    const x = ax.xr[0] + ((px - ax.box.x) / ax.box.w) * (ax.xr[1] - ax.xr[0]);
    const y = ax.yr[0] + ((ax.box.y + ax.box.h - py) / ax.box.h) * (ax.yr[1] - ax.yr[0]);
    return [round(Math.max(-4, Math.min(4, x)), 2), round(Math.max(-4, Math.min(4, y)), 2)];
  };
  const add = (p) => {
    if (!p || L.points.length >= 400) return;
    const last = L.points[L.points.length - 1];
    if (painting.added > 0 && last && Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.15) return; // a stroke: one dot per 0.15
    L.points.push(p);
    painting.added += 1;
    drawLive();
  };
  canvas.addEventListener("pointerdown", (e) => {
    if ($("live-data").value !== "painted") return;
    if (L.running) pauseLive();
    painting = { added: 0 };
    canvas.setPointerCapture(e.pointerId);
    add(at(e));
  });
  canvas.addEventListener("pointermove", (e) => { if (painting) add(at(e)); });
  let restartTimer = null;
  const end = () => {
    if (!painting) return;
    const added = painting.added;
    painting = null;
    if (!added) return;
    // A new session once the painting pauses (a few quick clicks start one session).
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => { if (!painting) restartLive(); }, 350);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
}

/** The painted points before any session exists (or while there are none). */
function drawPaintOnly() {
  const { ctx, w, h } = prepCanvas($("live-plot"));
  const side = Math.max(100, Math.min(h - 78, w - 80));
  const ax = new Axes(ctx, { x: 64, y: 30, w: side, h: side }, [-4, 4], [-4, 4]);
  live2d = ax;
  const ticks = niceTicks(-4, 4, 8);
  ax.frame({ xticks: ticks, yticks: ticks, xlabel: "x₁", ylabel: "x₂", title: "Paint data points here" });
  drawPaintedPoints(ax);
}

function drawPaintedPoints(ax) {
  const { ctx } = ax;
  ctx.save();
  ctx.fillStyle = alpha(COLORS.data, 0.9);
  for (const [x, y] of L.points) {
    ctx.beginPath();
    ctx.arc(ax.X(x), ax.Y(y), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();
}

/** G's image of the z grid: the noise space's grid lines, bent by G. */
function drawManifold(ax, m) {
  const { ctx } = ax;
  const pts = m.points, n = pts.length;
  ctx.save();
  ctx.lineWidth = 1;
  const line = (get, bold) => {
    ctx.strokeStyle = bold ? "rgba(29, 36, 51, 0.75)" : "rgba(29, 36, 51, 0.28)";
    ctx.beginPath();
    let started = false;
    for (let t = 0; t < n; t++) {
      const p = get(t);
      if (p[0] === null || p[1] === null) { started = false; continue; }
      if (!started) { ctx.moveTo(ax.X(p[0]), ax.Y(p[1])); started = true; } else ctx.lineTo(ax.X(p[0]), ax.Y(p[1]));
    }
    ctx.stroke();
  };
  for (let i = 0; i < n; i += 2) {
    line((t) => pts[i][t], i === 0 || i === n - 1);
    line((t) => pts[t][i], i === 0 || i === n - 1);
  }
  ctx.restore();
}

const ARROW_SCALE = 0.5; // data units per unit of gradient
const ARROW_MAX = 0.6;

/** An arrow from each fake point along minus the gradient of G's loss there (fixed scale, so a
 * saturating loss's vanishing gradient shows as vanishing arrows). Returns the drawn segments. */
function drawArrows(ax, a) {
  const { ctx } = ax;
  const drawn = [];
  ctx.save();
  a.points.forEach(([x, y], i) => {
    const [vx, vy] = a.vectors[i];
    if (x === null || vx === null) return;
    const len = Math.hypot(vx, vy);
    const s = len * ARROW_SCALE > ARROW_MAX ? ARROW_MAX / len : ARROW_SCALE;
    const x1 = x + vx * s, y1 = y + vy * s;
    drawn.push([ax.X(x), ax.Y(y), ax.X(x1), ax.Y(y1)]);
    const px = Math.hypot(ax.X(x1) - ax.X(x), ax.Y(y1) - ax.Y(y));
    if (px < 1.5) return;
    ctx.strokeStyle = "rgba(178, 34, 34, 0.85)";
    ctx.fillStyle = "rgba(178, 34, 34, 0.85)";
    ctx.lineWidth = 1.4;
    ctx.beginPath(); ctx.moveTo(ax.X(x), ax.Y(y)); ctx.lineTo(ax.X(x1), ax.Y(y1)); ctx.stroke();
    if (px >= 6) {
      const ux = (ax.X(x1) - ax.X(x)) / px, uy = (ax.Y(y1) - ax.Y(y)) / px;
      ctx.beginPath();
      ctx.moveTo(ax.X(x1), ax.Y(y1));
      ctx.lineTo(ax.X(x1) - ux * 6 - uy * 3, ax.Y(y1) - uy * 6 + ux * 3);
      ctx.lineTo(ax.X(x1) - ux * 6 + uy * 3, ax.Y(y1) - uy * 6 - ux * 3);
      ctx.closePath();
      ctx.fill();
    }
  });
  ctx.restore();
  return drawn;
}

function drawMetricsChart() {
  const r = L.last;
  const series = [{ key: "jsd", label: "JSD ≥", color: COLORS.ink }];
  if (r && r.dim === 2) {
    series.unshift({ key: "hq", label: "high-q.", color: COLORS.dstar });
    series.unshift({ key: "covered", label: "covered", color: COLORS.gen });
  }
  drawSeries("live-metrics", r && r.dim === 2 ? "Coverage and JSD lower bound, by iteration" : "JSD lower bound, by iteration", series, [0, 1], [{ y: Math.log(2), label: "log 2" }]);
}


/* ------------------------------------------------------------------ share link, PNG */

/** The whole setup as a URL fragment: view, analytic game and data, live settings and points. */
function shareState() {
  const q = new URLSearchParams();
  q.set("view", S.view);
  const p = A.params;
  for (const key of ["mu_g", "sd_g", "mu_data", "sd_data"]) q.set(key, String(p[key]));
  q.set("eta", String(A.lr));
  q.set("data", A.data.kind);
  if (A.data.kind === "mixture") q.set("mix", A.data.means.map((m, j) => `${m},${A.data.sds[j]},${A.data.weights[j]}`).join(";"));
  if (A.data.kind === "drawn") q.set("drawn", A.data.values.join(","));
  const ls = liveSettings();
  q.set("live", ls.data);
  q.set("loss", ls.loss);
  q.set("k", String(ls.k));
  q.set("lr", String(ls.lr));
  q.set("seed", String(ls.seed));
  q.set("speed", $("live-speed").value);
  q.set("manifold", L.showManifold ? "1" : "0");
  q.set("arrows", L.showArrows ? "1" : "0");
  if (ls.data === "painted") q.set("points", L.points.map((pt) => pt.join(",")).join(";"));
  return q.toString();
}

/** Restore a setup from a fragment made by shareState (unknown or bad values are ignored). */
function applyShared(fragment) {
  const q = new URLSearchParams(fragment);
  const num = (key, lo, hi) => {
    const v = parseFloat(q.get(key));
    return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : null;
  };
  for (const key of ["mu_g", "mu_data"]) { const v = num(key, -5, 5); if (v !== null) A.params[key] = v; }
  for (const key of ["sd_g", "sd_data"]) { const v = num(key, 0.1, 3); if (v !== null) A.params[key] = v; }
  const eta = num("eta", 0.05, 2);
  if (eta !== null) A.lr = eta;
  const kind = q.get("data");
  if (kind === "mixture" && q.get("mix")) {
    const rows = q.get("mix").split(";").slice(0, MAX_COMPONENTS).map((r) => r.split(",").map(Number));
    if (rows.length && rows.every((r) => r.length === 3 && r.every(Number.isFinite))) {
      A.mixture = { means: rows.map((r) => r[0]), sds: rows.map((r) => r[1]), weights: rows.map((r) => r[2]) };
      A.data = { kind: "mixture", ...structuredClone(A.mixture) };
    }
  } else if (kind === "drawn" && q.get("drawn")) {
    const values = q.get("drawn").split(",").map(Number);
    if (values.length === DRAWN_POINTS && values.every((v) => Number.isFinite(v) && v >= 0)) {
      A.drawnValues = values;
      A.data = { kind: "drawn", values };
    }
  }
  const setSelect = (id, value) => {
    if (value === null) return;
    const el = $(id);
    if (![...el.options].some((o) => o.value === value)) {
      const opt = document.createElement("option");
      opt.value = opt.textContent = value;
      el.append(opt);
    }
    el.value = value;
  };
  if (["gaussian-1d", "drawn-1d", "ring", "grid", "painted"].includes(q.get("live"))) $("live-data").value = q.get("live");
  if (["minimax", "non-saturating"].includes(q.get("loss"))) $("live-loss").value = q.get("loss");
  const k = num("k", 1, 10);
  if (k !== null) $("live-k").value = String(Math.round(k));
  const lr = num("lr", 1e-5, 0.05);
  if (lr !== null) setSelect("live-lr", String(lr));
  const seed = num("seed", 0, 2147483647);
  if (seed !== null) $("live-seed").value = String(Math.round(seed));
  if (["1", "5", "20", "50"].includes(q.get("speed"))) $("live-speed").value = q.get("speed");
  if (q.has("manifold")) L.showManifold = $("show-manifold").checked = q.get("manifold") === "1";
  if (q.has("arrows")) L.showArrows = $("show-arrows").checked = q.get("arrows") === "1";
  if (q.get("points") !== null) {
    const pts = q.get("points") ? q.get("points").split(";").slice(0, 400).map((pt) => pt.split(",").map(Number)) : [];
    if (pts.every((pt) => pt.length === 2 && pt.every((v) => Number.isFinite(v) && Math.abs(v) <= 4))) L.points = pts;
  }
  return q.get("view") === "live" ? "live" : "analytic";
}

function share() {
  const url = `${location.origin}${location.pathname}#${shareState()}`;
  history.replaceState(null, "", url);
  const box = $("share-url");
  box.hidden = false;
  box.value = url;
  box.select();
  S.shared = url;
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
}

/** Save the current view's main plot as a PNG file. */
function exportPng() {
  const canvas = $(`${S.view}-plot`); // analytic-plot, live-plot, explorer-plot (explorer.js)
  canvas.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = S.view === "live" ? `gannet-live-step-${L.step}.png` : `gannet-${S.view}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 5000);
    S.exports += 1;
    S.lastExport = { name: a.download, size: blob.size };
  }, "image/png");
}

/* ------------------------------------------------------------------ tabs, start-up */

function showView(view) {
  S.view = view;
  for (const tab of document.querySelectorAll(".tab")) {
    const active = tab.dataset.view === view;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
  }
  for (const section of document.querySelectorAll("main > .view")) {
    section.hidden = section.id !== `view-${view}`;
  }
  if (view === "live") {
    if (!liveStarted) {
      liveStarted = true;
      enqueue(liveStart);
    } else drawLive();
  } else {
    if (L.running) pauseLive();
    if (view === "analytic") {
      if (A.x.length) drawAnalytic();
      drawHistory();
    }
  }
  // Views in their own modules (explorer.js) start and redraw on this event.
  document.dispatchEvent(new CustomEvent("gannet:view", { detail: view }));
}

function redraw() {
  if (S.view === "analytic" && A.x.length) {
    drawAnalytic();
    drawHistory();
  }
  if (S.view === "live") drawLive();
}

function main() {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  bindAnalyticInputs();
  bindDataInputs();
  bindLiveInputs();
  $("share").addEventListener("click", share);
  $("export-png").addEventListener("click", exportPng);
  const fragment = location.hash.slice(1);
  let view = fragment === "live" || fragment === "explorer" ? fragment : "analytic";
  if (fragment.includes("=")) view = applyShared(fragment);
  setDataKind(A.data.kind, { request: false });
  updatePaintTools();
  syncInputs();
  requestAnalytic();
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 60);
  });
  if (view !== "analytic") showView(view);
  S.ready = true;
}

main();
