// Charts of training metrics as accessible SVG (Observable Plot): one metric over steps, for one run
// or several overlaid. tfjs-vis draws with Vega, whose expression compiler needs `new Function`,
// which the site's Content Security Policy (no 'unsafe-eval', scripts/serve.ts) refuses; Plot
// draws plain SVG and needs nothing of the kind.
import * as Plot from "@observablehq/plot";
import {accessiblePlot} from "./a11y.js";

/** Readable colours on light and dark backgrounds (contrast >= 3:1 against both). */
export const RUN_COLORS = ["#2563eb", "#c2410c", "#15803d", "#9333ea"];

const format = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toPrecision(3));

/**
 * A line chart of `rows` ({step, value, run}) with one line per run, wrapped so screen readers get
 * a summary (points, last value per run) and axe accepts it. `figure.dataset.points` counts the
 * points drawn, for tests and for anyone inspecting the page.
 */
export function metricChart(rows, {label, width = 320, height = 200, type = "linear", runs = [...new Set(rows.map((d) => d.run))]} = {}) {
  const finite = rows.filter((d) => Number.isFinite(d.value) && (type !== "log" || d.value > 0));
  const summary = runs
    .map((run) => {
      const own = finite.filter((d) => d.run === run);
      const last = own.at(-1);
      return last ? `${run}: ${own.length} points, ${label} ${format(last.value)} at step ${last.step}` : `${run}: no points yet`;
    })
    .join("; ");
  const plot = Plot.plot({
    width,
    height,
    marginLeft: 56,
    x: {label: "step", grid: true},
    y: {label, grid: true, type, tickFormat: type === "log" ? "~g" : undefined},
    color: {domain: runs, range: RUN_COLORS, legend: runs.length > 1},
    marks: [
      Plot.lineY(finite, {x: "step", y: "value", stroke: "run", strokeWidth: 1.5}),
      Plot.dot(finite.slice(-1), {x: "step", y: "value", fill: "run", r: 2.5}),
      finite.length ? null : Plot.text(["waiting for the first step"], {frameAnchor: "middle"})
    ]
  });
  const figure = document.createElement("figure");
  figure.className = "metric-chart";
  figure.dataset.points = String(finite.length);
  figure.append(accessiblePlot(plot, `${label} over training steps. ${summary}.`));
  return figure;
}
