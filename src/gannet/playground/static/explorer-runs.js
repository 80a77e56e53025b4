/* gannet playground: the latent explorer's table of runs (an ES module): each run's data, G,
 * step, latest metrics and evaluations, and a button to open it. explorer.js owns the state
 * (E, window.gannetState.explorer) and passes it in.
 */

import { fmtSig } from "./format.js";
import { $ } from "./state.js";

function metricsText(run) {
  const m = run.metrics || {};
  const parts = [];
  for (const [key, label] of [["d_loss", "D"], ["g_loss", "G"], ["d_real", "D(x)"], ["d_fake", "D(G(z))"]]) {
    if (key in m) parts.push(`${label} ${fmtSig(m[key])}`);
  }
  for (const [key, value] of Object.entries(m)) {
    if (/^(fid|kid|precision|recall|parzen)/.test(key)) parts.push(`${key} ${fmtSig(value, 4)}`);
  }
  return parts.join(" · ") || "–";
}

function evalText(run) {
  const parts = [];
  for (const [name, values] of Object.entries(run.eval || {})) {
    const shown = Object.entries(values).slice(0, 2).map(([k, v]) => `${k} ${fmtSig(v, 4)}`);
    parts.push(`${name}: ${shown.join(", ")}`);
  }
  return parts.join("; ") || "–";
}

function cell(row, text, cls = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.append(td);
  return td;
}

/** The table of runs (E.runs), with an Open button on each that calls ``openRun(id)``. */
export function showRunTable(E, openRun) {
  const body = $("explorer-runs-body");
  body.replaceChildren();
  $("explorer-root").textContent = E.root || "…";
  const empty = $("explorer-empty");
  empty.hidden = E.runs.length > 0 && E.enabled;
  if (!E.enabled) empty.textContent = "No runs folder: start the playground with gannet playground --runs DIR.";
  else if (!E.runs.length) empty.textContent = "No runs found here (a run is a folder with config.toml and run.json, up to two levels down).";
  E.runs.forEach((run, i) => {
    const row = document.createElement("tr");
    row.dataset.run = run.id;
    row.classList.toggle("open", run.id === E.run);
    cell(row, run.id);
    cell(row, run.dataset || "?");
    cell(row, `${run.generator || "?"}${run.conditional ? " (conditional)" : ""}`);
    cell(row, run.step === undefined ? "–" : String(run.step), "num");
    cell(row, metricsText(run));
    cell(row, evalText(run));
    const td = cell(row, "");
    const button = document.createElement("button");
    button.textContent = run.id === E.run ? "Open ✓" : "Open";
    button.dataset.testid = `explorer-open-${i}`;
    button.disabled = !run.has_checkpoint;
    button.title = run.has_checkpoint ? "explore this run's G" : "no checkpoint yet";
    button.addEventListener("click", () => openRun(run.id));
    td.append(button);
    body.append(row);
  });
}
