// Per-frame actions on one time axis, in three aligned panels: movement keys as a raster (a cell
// per frame a key is held), camera yaw and pitch rates as lines, interactions as marks.
import * as Plot from "@observablehq/plot";
import { INTERACTIONS, MOVEMENT_KEYS } from "../lib/actions/index.js";
import { accessiblePlot } from "./a11y.js";

const MARGIN_LEFT = 70;

/**
 * `actions`: actions `{movement: [f, b, l, r], camera: [yaw, pitch], interaction}`, one per
 * frame. Options: `width` (px), `frame` (a frame to mark with a rule), `title` (for the
 * accessible descriptions). Returns a `<div class="action-timeline">` holding three charts
 * that share the x scale [0, actions.length].
 */
export function actionTimeline(actions, { width = 720, frame, title = "Actions" } = {}) {
  const n = actions.length;
  const x = { domain: [0, Math.max(1, n)], label: "frame" };
  const cursor =
    frame === undefined
      ? []
      : [Plot.ruleX([frame + 0.5], { stroke: "currentColor", strokeWidth: 1.5, strokeDasharray: "3,2" })];

  const held = [];
  actions.forEach((a, t) => a.movement.forEach((m, k) => m > 0.5 && held.push({ t, key: MOVEMENT_KEYS[k] })));
  const movement = Plot.plot({
    width,
    height: 110,
    marginLeft: MARGIN_LEFT,
    x: { ...x, axis: null },
    y: { domain: MOVEMENT_KEYS, label: null },
    marks: [
      Plot.rect(held, {
        x1: "t",
        x2: (d) => d.t + 1,
        y: "key",
        fill: "#3b6fb6",
        title: (d) => `frame ${d.t}: ${d.key}`,
      }),
      Plot.frame({ stroke: "#999" }),
      ...cursor,
    ],
  });

  const camera = actions.flatMap((a, t) => [
    { t: t + 0.5, axis: "yaw", value: a.camera[0] },
    { t: t + 0.5, axis: "pitch", value: a.camera[1] },
  ]);
  const look = Plot.plot({
    width,
    height: 130,
    marginLeft: MARGIN_LEFT,
    x: { ...x, axis: null },
    y: { domain: [-1, 1], label: "camera rate", grid: true },
    color: { domain: ["yaw", "pitch"], range: ["#b4461b", "#2f7d32"], legend: true },
    marks: [
      Plot.ruleY([0], { stroke: "#999" }),
      Plot.lineY(camera, { x: "t", y: "value", stroke: "axis", strokeWidth: 1.5 }),
      ...cursor,
    ],
  });

  const marks = actions.flatMap((a, t) =>
    a.interaction > 0 ? [{ t: t + 0.5, name: INTERACTIONS[a.interaction] ?? `id ${a.interaction}` }] : [],
  );
  const interaction = Plot.plot({
    width,
    height: 80,
    marginLeft: MARGIN_LEFT,
    x,
    y: { domain: INTERACTIONS.slice(1), label: null },
    marks: [
      Plot.dot(marks, {
        x: "t",
        y: "name",
        fill: "#6a3d9a",
        r: 3.5,
        symbol: "diamond",
        title: (d) => `frame ${Math.floor(d.t)}: ${d.name}`,
      }),
      Plot.frame({ stroke: "#999" }),
      ...cursor,
    ],
  });

  // Plot labels its frame <rect> too; axe allows aria-label there only with a role, so drop it.
  for (const chart of [movement, interaction])
    for (const rect of chart.querySelectorAll("rect[aria-label]")) rect.removeAttribute("aria-label");
  const div = document.createElement("div");
  div.className = "action-timeline";
  div.dataset.frames = String(n);
  const held1 = (k) => held.filter((h) => h.key === k).length;
  div.append(
    accessiblePlot(
      movement,
      `${title}: movement keys held over ${n} frames (${MOVEMENT_KEYS.map((k) => `${k} ${held1(k)}`).join(", ")})`,
    ),
    accessiblePlot(look, `${title}: camera yaw and pitch rate per frame, from -1 to 1`),
    accessiblePlot(
      interaction,
      `${title}: ${marks.length} interactions (${INTERACTIONS.slice(1)
        .map((k) => `${k} ${marks.filter((m) => m.name === k).length}`)
        .join(", ")})`,
    ),
  );
  return div;
}
