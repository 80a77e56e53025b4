/* gannet playground: plotting on <canvas> (an ES module): colours and fonts, ticks, a canvas
 * sized for the screen's pixel ratio, and Axes (data to pixels, frame, curves, lines, notes).
 * Every view's plots use these; no libraries.
 */

import { fmt } from "./format.js";

export const COLORS = {
  data: "#1f77b4",
  gen: "#ff7f0e",
  dstar: "#2ca02c",
  ink: "#1d2433",
  muted: "#5b6475",
  grid: "#edf0f5",
  axis: "#9aa3b2",
  half: "#8a93a3",
};
export const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
export const BOLD = "600 13px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";

export function niceTicks(lo, hi, count) {
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
export function prepCanvas(canvas) {
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
export class Axes {
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

export function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** Draw a small text box with a coloured marker at the top-left or top-right of an Axes. */
export function note(ax, lines, side = "right") {
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

// A discriminator's panel (both views): D on [0, 1] over x, the ½ line where D cannot tell
// real from fake, and the curve dashed in D's colour. Returns the axes.
export function dPanel(ctx, rect, xr, xticks, x, d, { ylabel, title, half }) {
  const ax = new Axes(ctx, rect, xr, [0, 1]);
  ax.frame({ xticks, yticks: [0, 0.5, 1], yfmt: (t) => (t === 0.5 ? "½" : String(t)), xlabel: "x", ylabel, title });
  ax.hline(0.5, { label: half, labelSide: "left" });
  ax.clip();
  ax.curve(x, d, { color: COLORS.dstar, width: 2.6, dash: [9, 6] });
  ax.unclip();
  return ax;
}
