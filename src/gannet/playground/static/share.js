/* gannet playground: the share link and the PNG export (an ES module). The whole setup goes
 * in the address's fragment (#view=...&mu_g=...), and comes back from it on load.
 */

import { DRAWN_POINTS, MAX_COMPONENTS } from "./density.js";
import { liveSettings } from "./live.js";
import { $, S } from "./state.js";

const A = S.analytic;
const L = S.live;

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
export function applyShared(fragment) {
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

export function share() {
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
export function exportPng() {
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
