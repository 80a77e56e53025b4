/* gannet playground: the live view's drawings (an ES module): the 1-D densities and D, the
 * 2-D map of D with G's samples, manifold and gradient arrows, the high-quality samples per
 * mode, the painted points, and the charts of losses, D's means and the metrics.
 */

import { fmt } from "./format.js";
import { Axes, BOLD, COLORS, FONT, alpha, dPanel, niceTicks, note, prepCanvas } from "./plot.js";
import { $, LOG4, S } from "./state.js";

const L = S.live;

/** The 2-D Axes last drawn (live.js maps the pointer to data coordinates through it). */
export let live2d = null;

/** Draw what the live view shows: the main plot and the three charts. */
export function drawLive() {
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
  dPanel(ctx, { x: left, y: yBot, w: w - left - right, h: hBot }, xr, xticks, r.x, r.d, {
    ylabel: "D(x)",
    title: "The trained discriminator D(x)",
    half: "½: D cannot tell",
  });
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

function drawMetricsChart() {
  const r = L.last;
  const series = [{ key: "jsd", label: "JSD ≥", color: COLORS.ink }];
  if (r && r.dim === 2) {
    series.unshift({ key: "hq", label: "high-q.", color: COLORS.dstar });
    series.unshift({ key: "covered", label: "covered", color: COLORS.gen });
  }
  drawSeries("live-metrics", r && r.dim === 2 ? "Coverage and JSD lower bound, by iteration" : "JSD lower bound, by iteration", series, [0, 1], [{ y: Math.log(2), label: "log 2" }]);
}

/* ------------------------------------------------------------------ the 2-D plot's layers */

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
