/* gannet playground: numbers as the page shows them (an ES module): a real minus sign, no
 * "−0", scientific notation with superscripts for tiny values, significant digits for the
 * explorer's metrics and timings.
 */

/** A number with a real minus sign. */
export function fmt(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const s = v.toFixed(digits);
  if (Number(s) === 0) return s.replace("-", ""); // no "−0.000000"
  return s.startsWith("-") ? "−" + s.slice(1) : s;
}

export function fmtSci(v) {
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

/** ``digits`` significant digits (whole numbers from 1000 up), with a real minus sign. */
export function fmtSig(v, digits = 3) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  const text = Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(digits);
  return text.replace("-", "−");
}

/** ``v`` rounded to ``d`` decimals. */
export const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;
