/* gannet playground: the page's shared state and small DOM helpers (an ES module).
 *
 * Test hooks: window.gannetState (S here) holds what is on screen (readout values, the
 * plotted arrays, training history); each view keeps its part: S.analytic (analytic.js,
 * density.js), S.live (live.js, live-plot.js), S.explorer (explorer.js). Elements carry
 * data-testid attributes.
 */

export const LOG4 = Math.log(4); // D's loss at the equilibrium; C(G) = −log 4 at its minimum
export const ANALYTIC_DEFAULTS = { mu_data: 1.0, sd_data: 0.8, mu_g: -2.5, sd_g: 1.5 };
export const DEFAULT_LR = 0.5;
export const DEFAULT_POINTS = [ // the painted example: a small smile
  [-1.5, 1.2], [-1.3, 1.2], [1.3, 1.2], [1.5, 1.2],
  [-2, -0.6], [-1.6, -1.2], [-1, -1.6], [-0.3, -1.8], [0.3, -1.8], [1, -1.6], [1.6, -1.2], [2, -0.6],
];

export const $ = (id) => document.getElementById(id);

/* ------------------------------------------------------------------ state (test hooks) */

/* The explorer's part, S.explorer, is set by explorer.js. */
export const S = (window.gannetState = {
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

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/** Show ``text`` in the status line ``id``; ``kind``: "" , "good" or "warn". */
export function setStatus(id, text, kind = "") {
  const el = $(id);
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

/** A number input's or slider's value, clamped to its min and max; null when not a number. */
export function readInput(el) {
  const v = parseFloat(el.value);
  if (!Number.isFinite(v)) return null;
  return Math.min(parseFloat(el.max), Math.max(parseFloat(el.min), v));
}
