// Live training curves drawn by tfjs-vis (its line chart, from src/vendor/tfjs-vis.js): one metric
// over steps, for one run or several overlaid. The vendored tfjs-vis evaluates Vega expressions
// with an interpreter and renders SVG (scripts/vendor/), so it runs under the site's Content
// Security Policy without 'unsafe-eval'.
import { linechart } from "../vendor/tfjs-vis.js";
import { RUN_COLORS } from "./colors.js";

/** Most points per line: Vega redraws the whole chart on every update, so keep that cheap. */
const MAX_POINTS = 400;

const format = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toPrecision(3));

/**
 * tfjs-vis places the i-th value of every series at x = i and needs series of equal length, so
 * put all runs on one grid of steps 0, stride, 2 stride, ...: point i is the mean of a run's values
 * in steps [i stride, (i + 1) stride), or null (no line) where the run logged nothing there.
 */
export function stepGrid(rows, runs, maxPoints = MAX_POINTS) {
  const last = rows.reduce((m, d) => Math.max(m, d.step), 0);
  const stride = Math.max(1, Math.ceil((last + 1) / maxPoints));
  const length = Math.floor(last / stride) + 1;
  const values = runs.map((run) => {
    const sums = new Float64Array(length);
    const counts = new Uint32Array(length);
    for (const d of rows) {
      if (d.run !== run) continue;
      const i = Math.floor(d.step / stride);
      sums[i] += d.value;
      counts[i]++;
    }
    return Array.from(sums, (sum, i) => ({ x: i, y: counts[i] ? sum / counts[i] : null }));
  });
  return { stride, values };
}

/**
 * A line chart of `rows` ({step, value, run}) with one line per run, wrapped in a figure whose
 * label gives screen readers a summary (points, last value per run). `figure.dataset.points`
 * counts the finite values plotted, for tests and for anyone inspecting the page; the chart
 * itself arrives asynchronously (tfjs-vis renders with a promise), and `figure.dataset.rendered`
 * is set once it has.
 */
export function metricChart(
  rows,
  { label, width = 320, height = 200, runs = [...new Set(rows.map((d) => d.run))] } = {},
) {
  const finite = rows.filter((d) => Number.isFinite(d.value));
  const summary = runs
    .map((run) => {
      const own = finite.filter((d) => d.run === run);
      const last = own.at(-1);
      return last
        ? `${run}: ${own.length} points, ${label} ${format(last.value)} at step ${last.step}`
        : `${run}: no points yet`;
    })
    .join("; ");
  const figure = document.createElement("figure");
  figure.className = "metric-chart";
  // The chart is drawn at `width`; the page's default figure styles (a 640 px cap, scrolling)
  // would clip it or make it a scroll region that keyboard users cannot reach.
  Object.assign(figure.style, { margin: "0", maxWidth: "none", overflow: "visible" });
  figure.dataset.points = String(finite.length);
  figure.setAttribute("role", "img");
  figure.setAttribute("aria-label", `${label} over training steps. ${summary}.`);
  const area = document.createElement("div");
  figure.append(area);
  if (!finite.length) {
    area.textContent = "waiting for the first step";
    return figure;
  }
  const { stride, values } = stepGrid(finite, runs);
  linechart(
    area,
    { values, series: runs },
    {
      width,
      height,
      xLabel: stride === 1 ? "step" : `step ÷ ${stride} (mean of each ${stride} steps)`,
      yLabel: label,
      zoomToFit: true,
      seriesColors: RUN_COLORS.slice(0, runs.length),
    },
  ).then(
    () => {
      // The SVG is described by the figure; its own parts need not be read out one by one.
      const wrapper = area.querySelector(".vega-embed");
      wrapper?.removeAttribute("role");
      wrapper?.removeAttribute("aria-label");
      wrapper?.removeAttribute("aria-roledescription");
      area.querySelector("svg")?.setAttribute("aria-hidden", "true");
      figure.dataset.rendered = "true";
    },
    (error) => {
      area.textContent = `The ${label} chart could not be drawn: ${error?.message ?? error}`;
    },
  );
  return figure;
}
