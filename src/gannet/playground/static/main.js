/* gannet playground: the page's entry module, loaded by index.html (<script type="module">).
 * Vanilla JavaScript ES modules served as they are, drawing on <canvas>: no bundler, no
 * libraries, no network beyond this page's own server. Every number shown comes from the
 * server (gannet.theory for the analytic view, gannet's Trainer for the live view, a trained
 * run's G for the explorer).
 *
 * This module wires the tabs, the share and PNG buttons and the resize redraw, and starts the
 * views: analytic.js (with density.js), live.js (with live-plot.js), explorer.js.
 */

import { bindAnalytic, drawAnalytic, drawHistory, startAnalytic } from "./analytic.js";
import "./explorer.js"; // the latent explorer: starts and redraws on "gannet:view" events
import { drawLive } from "./live-plot.js";
import { bindLive, hideLive, showLive, updatePaintTools } from "./live.js";
import { applyShared, exportPng, share } from "./share.js";
import { $, S } from "./state.js";

const A = S.analytic;

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
  if (view === "live") showLive();
  else {
    hideLive();
    if (view === "analytic") {
      if (A.x.length) drawAnalytic();
      drawHistory();
    }
  }
  // explorer.js starts and redraws on this event.
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
  bindAnalytic();
  bindLive();
  $("share").addEventListener("click", share);
  $("export-png").addEventListener("click", exportPng);
  const fragment = location.hash.slice(1);
  let view = fragment === "live" || fragment === "explorer" ? fragment : "analytic";
  if (fragment.includes("=")) view = applyShared(fragment);
  startAnalytic();
  updatePaintTools();
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 60);
  });
  if (view !== "analytic") showView(view);
  S.ready = true;
}

main();
