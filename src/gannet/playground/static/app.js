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
const CONVERGED_GAP = 2e-6;

const $ = (id) => document.getElementById(id);

/* ------------------------------------------------------------------ state (test hooks) */

const S = (window.gannetState = {
  ready: false,
  view: "analytic",
  analytic: {
    params: { ...ANALYTIC_DEFAULTS },
    lr: DEFAULT_LR,
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
  },
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/** A number with a real minus sign. */
function fmt(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const s = v.toFixed(digits);
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
  api("/api/analytic?" + query)
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
  c.textContent = fmt(A.criterion, 6);
  c.classList.toggle("at-min", gap < 1e-3);
  $("readout-jsd").textContent = fmt(A.jsd, 6) + " nats";
  $("readout-min").textContent = fmt(A.minusLog4, 6);
  $("readout-gap").textContent = fmt(gap, 6);
  $("readout-grad").textContent = `${fmtSci(A.gradient.mu_g)}, ${fmtSci(A.gradient.sd_g)}`;
  const frac = Math.min(1, Math.max(0, gap / LOG4)); // C ranges over [-log 4, 0]
  $("gauge-marker").style.left = (frac * 100).toFixed(2) + "%";
  if (!A.training) {
    if (gap < 1e-3) setStatus("analytic-status", "p_g matches p_data: C(G) is at its minimum −log 4 and D* = ½ everywhere.", "good");
    else if (!A.stopReason) setStatus("analytic-status", "Move the orange curve onto the blue one, or press Train.");
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
  const ymax = Math.max(0.2, peak * 1.12);
  const xticks = niceTicks(xr[0], xr[1], 12);

  const dens = new Axes(ctx, { x: left, y: top, w: w - left - right, h: hTop }, xr, [0, ymax]);
  dens.frame({ xticks, yticks: niceTicks(0, ymax, 5), xlabels: true, ylabel: "density", title: "Densities: data (blue) and generator (orange)" });
  dens.clip();
  // p_g under p_data, wider, so both stay visible when the curves coincide.
  dens.curve(A.x, A.pG, { color: COLORS.gen, width: 4, fill: alpha(COLORS.gen, 0.16) });
  dens.curve(A.x, A.pData, { color: COLORS.data, width: 2.2, fill: alpha(COLORS.data, 0.14) });
  dens.unclip();
  // Centre markers and the direction a gradient step would move the generator's centre.
  const p = A.params;
  markCentre(dens, p.mu_data, COLORS.data);
  markCentre(dens, p.mu_g, COLORS.gen);
  const g = A.gradient;
  if (g && Math.abs(g.mu_g) > 1e-6) {
    const dx = Math.max(-1.5, Math.min(1.5, -g.mu_g * 3));
    arrow(ctx, dens.X(p.mu_g), dens.Y(ymax * 0.06), dens.X(p.mu_g + dx), dens.Y(ymax * 0.06), COLORS.gen);
  }
  note(dens, [`p_data = N(${fmt(p.mu_data, 2)}, ${fmt(p.sd_data, 2)}²)`, `p_g = N(${fmt(p.mu_g, 2)}, ${fmt(p.sd_g, 2)}²)`]);

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
  ax.frame({ yticks: [lo, hi], yfmt: (t) => fmt(t, 2), xlabels: false, title: `C(G) during training: ${hist.length - 1} steps` });
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
      const r = await api("/api/analytic/step", { ...A.params, lr: A.lr, steps: 1 });
      if (!A.training) break;
      A.params.mu_g = r.params.mu_g;
      A.params.sd_g = r.params.sd_g;
      syncInputs();
      applyAnalytic(r, seq);
      A.trainSteps += 1;
      A.trainHistory.push(r.criterion);
      drawHistory();
      const gap = r.criterion - r.minus_log_4;
      const gradNorm = Math.hypot(r.gradient.mu_g, r.gradient.sd_g);
      if (gap < CONVERGED_GAP) { stopTraining(`converged after ${A.trainSteps} steps: C(G) = −log 4, D* = ½`); break; }
      if (gradNorm < 1e-9) { stopTraining("stalled: the curves do not overlap, so C(G) is flat (JSD = log 2) and its gradient vanishes. Move the orange curve closer or widen it."); break; }
      if (A.trainSteps >= TRAIN_MAX_STEPS) { stopTraining(`stopped after ${A.trainSteps} steps`); break; }
      setStatus("analytic-status", `Training: step ${A.trainSteps}, C(G) + log 4 = ${fmt(gap, 6)}`);
      await sleep(TRAIN_DELAY_MS);
    }
  } catch (e) {
    stopTraining("");
    showAnalyticError(e);
  }
}

function stopTraining(reason) {
  if (!A.training) return;
  A.training = false;
  A.pending = analyticInFlight;
  A.stopReason = reason || null;
  $("train").textContent = "▶ Train";
  $("train").classList.remove("running");
  if (reason) {
    const good = reason.startsWith("converged");
    setStatus("analytic-status", reason.charAt(0).toUpperCase() + reason.slice(1) + ".", good ? "good" : reason.startsWith("stalled") ? "warn" : "");
  }
}

function resetAnalytic() {
  stopTraining("");
  A.params = { ...ANALYTIC_DEFAULTS };
  A.lr = DEFAULT_LR;
  A.trainHistory = [];
  A.trainSteps = 0;
  A.stopReason = null;
  syncInputs();
  requestAnalytic();
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
  return {
    data: $("live-data").value,
    loss: $("live-loss").value,
    k: Math.min(10, Math.max(1, parseInt($("live-k").value, 10) || 1)),
    lr: parseFloat($("live-lr").value),
  };
}

function bindLiveInputs() {
  $("live-play").addEventListener("click", () => (L.running ? pauseLive() : playLive()));
  $("live-step").addEventListener("click", () => enqueue(() => liveStep(1)));
  $("live-reset").addEventListener("click", () => restartLive());
  for (const id of ["live-data", "live-loss", "live-k", "live-lr"]) {
    $(id).addEventListener("change", () => restartLive());
  }
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
  L.history.push({ step: r.step, d: r.losses.d, g: r.losses.g, dReal: r.d_real, dFake: r.d_fake });
  if (L.history.length > 1500) L.history = L.history.filter((_, i) => i % 2 === 0 || i === L.history.length - 1);
  $("live-stepcount").textContent = String(r.step);
  $("live-epoch").textContent = `${r.epoch} (${r.iterations_per_epoch} iterations each)`;
  $("live-dloss").textContent = fmt(r.losses.d, 4);
  $("live-gloss").textContent = fmt(r.losses.g, 4);
  $("live-dreal").textContent = fmt(r.d_real, 3);
  $("live-dfake").textContent = fmt(r.d_fake, 3);
  if (r.dim === 1) {
    $("live-extra-label").innerHTML = "p<sub>g</sub> mean ± std (data 3 ± 0.5)";
    $("live-extra").textContent = `${fmt(r.g_mean, 2)} ± ${fmt(r.g_std, 2)}`;
  } else {
    // gannet's mode metric (gannet.metrics.modes, as `gannet eval modes` reports it).
    const cov = r.coverage;
    $("live-extra-label").textContent = "modes covered";
    $("live-extra").textContent = `${cov.modes_covered} / ${cov.n_modes} (${(cov.high_quality_fraction * 100).toFixed(1)}% high quality)`;
  }
  if (L.paused && !L.running) setStatus("live-status", `Paused at iteration ${r.step}.`);
  if (r.diverged) setStatus("live-status", "Training diverged (a loss is not finite): lower the learning rate and Reset.", "warn");
  drawLive();
}

function drawLive() {
  const r = L.last;
  if (!r) return;
  const legend = $("live-legend");
  if (r.dim === 1) {
    $("live-title").textContent = "1-D: a neural G learns a bell curve";
    legend.innerHTML = '<span class="key"><i class="sw data"></i><span>data p<sub>data</sub></span></span>' +
      '<span class="key"><i class="sw gen"></i><span>G\'s samples p<sub>g</sub> (histogram)</span></span>' +
      '<span class="key"><i class="sw dstar"></i><span>trained D(x)</span></span>';
    drawLive1d(r);
  } else {
    const what = r.settings.data === "ring" ? "a ring of 8 Gaussians" : "a grid of 25 Gaussians";
    $("live-title").textContent = `2-D: a neural G learns ${what}`;
    legend.innerHTML = '<span class="key"><i class="sw ring"></i>data modes</span>' +
      '<span class="key"><i class="sw dot"></i>G\'s samples</span>' +
      '<span class="key"><i class="sw heat"></i>D(x): 0 fake · ½ · 1 real</span>';
    drawLive2d(r);
  }
  drawLossChart();
  drawMeansChart();
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
  const top = 30, bottom = 48, left = 64, barW = 16;
  const side = Math.max(100, Math.min(h - top - bottom, w - left - 330));
  const box = { x: left, y: top, w: side, h: side };
  const ax = new Axes(ctx, box, r.range, r.range);
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
  ax.unclip();
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
  drawModeBars(ctx, r, { x: bx + barW + 90, y: top, w: w - (bx + barW + 90) - 16, h: Math.min(side, 280) });
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
  const axisNote = r.settings.data === "ring" ? "the 8 modes, around the ring" : "the 25 modes, row by row";
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

/* ------------------------------------------------------------------ tabs, start-up */

function showView(view) {
  S.view = view;
  for (const tab of document.querySelectorAll(".tab")) {
    const active = tab.dataset.view === view;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
  }
  $("view-analytic").hidden = view !== "analytic";
  $("view-live").hidden = view !== "live";
  if (view === "live") {
    if (!liveStarted) {
      liveStarted = true;
      enqueue(liveStart);
    } else drawLive();
  } else {
    if (L.running) pauseLive();
    if (A.x.length) drawAnalytic();
    drawHistory();
  }
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
  bindLiveInputs();
  syncInputs();
  requestAnalytic();
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 60);
  });
  if (location.hash === "#live") showView("live");
  S.ready = true;
}

main();
