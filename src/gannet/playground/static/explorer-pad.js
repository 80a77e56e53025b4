/* gannet playground: the latent explorer's map of the plane z = u·z_A + v·z_B (an ES module):
 * the origin, samples A (1, 0) and B (0, 1), the window the grid shows and its centre, which
 * the pointer drags. explorer.js owns the state (E) and passes it in.
 */

import { $ } from "./state.js";

const PAD_RANGE = 2.5; // the map shows u, v in [-2.5, 2.5] around the origin (grows to fit)

function padRange(E) {
  return Math.max(PAD_RANGE, Math.abs(E.u) + E.span / 2 + 0.25, Math.abs(E.v) + E.span / 2 + 0.25);
}

/** Draw the plane's map: the origin, A at (1, 0), B at (0, 1), the window and its centre. */
export function drawPlaneMap(E) {
  const canvas = $("explorer-pad");
  const dpr = window.devicePixelRatio || 1;
  const size = Math.max(1, Math.round(canvas.clientWidth * dpr));
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  const R = padRange(E);
  const px = (u) => ((u + R) / (2 * R)) * size;
  const py = (v) => ((R - v) / (2 * R)) * size;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = "#edf0f5";
  ctx.lineWidth = dpr;
  for (let t = Math.ceil(-R); t <= R; t += 1) {
    ctx.beginPath(); ctx.moveTo(px(t), 0); ctx.lineTo(px(t), size); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(0, py(t)); ctx.lineTo(size, py(t)); ctx.stroke();
  }
  ctx.strokeStyle = "#9aa3b2";
  ctx.beginPath(); ctx.moveTo(px(0), 0); ctx.lineTo(px(0), size); ctx.stroke();
  ctx.beginPath(); ctx.moveTo(0, py(0)); ctx.lineTo(size, py(0)); ctx.stroke();
  const half = E.span / 2;
  ctx.fillStyle = "rgba(47, 91, 211, 0.12)";
  ctx.strokeStyle = "rgba(47, 91, 211, 0.7)";
  ctx.fillRect(px(E.u - half), py(E.v + half), px(E.u + half) - px(E.u - half), py(E.v - half) - py(E.v + half));
  ctx.strokeRect(px(E.u - half), py(E.v + half), px(E.u + half) - px(E.u - half), py(E.v - half) - py(E.v + half));
  ctx.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
  for (const [u, v, label, color] of [[0, 0, "0", "#5b6475"], [1, 0, "A", "#1f77b4"], [0, 1, "B", "#d62728"]]) {
    ctx.fillStyle = color;
    ctx.beginPath(); ctx.arc(px(u), py(v), 4 * dpr, 0, 2 * Math.PI); ctx.fill();
    ctx.fillText(label, px(u) + 6 * dpr, py(v) - 6 * dpr);
  }
  ctx.fillStyle = "#1d2433";
  ctx.beginPath(); ctx.arc(px(E.u), py(E.v), 6 * dpr, 0, 2 * Math.PI); ctx.fill();
  E.padRange = R;
  $("explorer-uv").textContent = `u = ${E.u.toFixed(2)}, v = ${E.v.toFixed(2)}`;
}

/** Dragging on the map moves the window's centre (E.u, E.v), then calls ``moved()``. */
export function bindPad(E, moved) {
  const canvas = $("explorer-pad");
  let dragging = false;
  let range = PAD_RANGE;
  const move = (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = (event.clientX - rect.left) / rect.width;
    const y = (event.clientY - rect.top) / rect.height;
    const clamp = (t) => Math.min(Math.max(t, -range), range);
    E.u = clamp((2 * x - 1) * range);
    E.v = clamp((1 - 2 * y) * range);
    drawPlaneMap(E);
    moved();
  };
  canvas.addEventListener("pointerdown", (event) => {
    dragging = true;
    range = padRange(E); // fixed while dragging, so the map does not slide under the pointer
    canvas.setPointerCapture(event.pointerId);
    move(event);
  });
  canvas.addEventListener("pointermove", (event) => { if (dragging) move(event); });
  const stop = () => { dragging = false; drawPlaneMap(E); };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
}
