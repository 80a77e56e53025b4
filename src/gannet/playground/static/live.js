/* gannet playground: the live view (an ES module). gannet's own Trainer on 1-D and 2-D toy
 * data, on the server, one iteration of Algorithm 1 (or one phase of it) per request; this
 * module runs the session (start, play, step, reset), shows its numbers and takes painted
 * points. The drawings are live-plot.js's.
 */

import { HttpError, api } from "./api.js";
import { dataAtKnots } from "./density.js";
import { fmt, round } from "./format.js";
import { drawLive, live2d } from "./live-plot.js";
import { $, DEFAULT_POINTS, LOG4, S, nextFrame, setStatus, sleep } from "./state.js";

const PHASE_DELAY_MS = 650;
const WEAK_D_MARGIN = 0.05; // D's loss within this of log 4: D near chance, the JSD bound near 0

const L = S.live;
const A = S.analytic; // the drawn-1d data is the analytic view's density
let liveQueue = Promise.resolve();
let liveStarted = false;

/** Run live operations one after the other (start, step, restart never overlap). */
function enqueue(fn) {
  liveQueue = liveQueue.then(fn).catch((e) => liveError(e));
  return liveQueue;
}

export function liveSettings() {
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

/* ------------------------------------------------------------------ inputs, the tab */

export function bindLive() {
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

/** The tab is shown: the first time, start a session; after that, redraw. */
export function showLive() {
  if (!liveStarted) {
    liveStarted = true;
    enqueue(liveStart);
  } else drawLive();
}

/** The tab is left: training pauses. */
export function hideLive() {
  if (L.running) pauseLive();
}

/* ------------------------------------------------------------------ the session */

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

/* ------------------------------------------------------------------ the readout */

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

export function updatePaintTools() {
  const painted = $("live-data").value === "painted";
  $("paint-tools").hidden = !painted;
  $("live-plot").classList.toggle("drawable", painted);
}

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
