/* gannet playground: the analytic view (an ES module). Two Gaussians (or a mixture, or a
 * drawn density: density.js), the optimal discriminator D*, C(G) and the JSD, all computed by
 * gannet.theory on the server; Train takes gradient steps on C(G) there.
 */

import { api } from "./api.js";
import { bindDataInputs, pen, setDataKind } from "./density.js";
import { fmt, fmtSci } from "./format.js";
import { Axes, COLORS, alpha, dPanel, niceTicks, note, prepCanvas } from "./plot.js";
import { $, ANALYTIC_DEFAULTS, DEFAULT_LR, LOG4, S, readInput, setStatus, sleep } from "./state.js";

const TRAIN_DELAY_MS = 45;
const TRAIN_MAX_STEPS = 600;

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

export function syncInputs() {
  for (const [id, key] of SLIDERS) {
    const v = A.params[key];
    $(id).value = String(v);
    if (document.activeElement !== $(id + "-num")) $(id + "-num").value = v.toFixed(2);
  }
  $("lr").value = String(A.lr);
  if (document.activeElement !== $("lr-num")) $("lr-num").value = A.lr.toFixed(2);
}

/* ------------------------------------------------------------------ inputs */

/** Wire the view's sliders and buttons, and the data density's inputs (density.js). */
export function bindAnalytic() {
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
  bindDataInputs({ request: requestAnalytic, stop: stopTraining });
}

/** Show the starting setup (the defaults, or a shared link's) and ask for its first answer. */
export function startAnalytic() {
  setDataKind(A.data.kind, { request: false });
  syncInputs();
  requestAnalytic();
}

/* ------------------------------------------------------------------ requests, readout */

export function requestAnalytic() {
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
    else if (!A.stopReason) setStatus("analytic-status", A.data.kind === "drawn" && pen.active ? "Drawing the data density…" : "Move the orange curve onto the blue one, or press Train.");
  }
  drawHistory();
}

/* ------------------------------------------------------------------ plots */

export function drawAnalytic() {
  const { ctx, w, h } = prepCanvas($("analytic-plot"));
  const left = 64, right = 22, top = 30, gap = 58, bottom = 48;
  const avail = h - top - gap - bottom;
  const hTop = Math.round(avail * 0.64), hBot = avail - hTop;
  const xr = [A.x[0], A.x[A.x.length - 1]];
  const peak = Math.max(...A.pData, ...A.pG);
  const ymax = pen.active && pen.axes ? pen.axes.yr[1] : Math.max(0.2, peak * 1.12);
  const xticks = niceTicks(xr[0], xr[1], 12);

  const dens = new Axes(ctx, { x: left, y: top, w: w - left - right, h: hTop }, xr, [0, ymax]);
  pen.axes = dens; // density.js maps the pointer through it
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
  dPanel(ctx, { x: left, y: yBot, w: w - left - right, h: hBot }, xr, xticks, A.x, A.dStar, {
    ylabel: "D*(x)",
    title: "Optimal discriminator D*(x) = p_data / (p_data + p_g)",
    half: "½: D cannot tell real from fake",
  });
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

export function drawHistory() {
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

/* ------------------------------------------------------------------ training */

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
