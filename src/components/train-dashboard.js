// The Training page's view (src/pages/train.md): DOM for a TrainDashboard (src/lib/train/dashboard.ts)
// and the stored runs. Each live part subscribes to the dashboard and redraws itself when the state
// changes; `dispose` unsubscribes. The parts, in page order: run controls (buttons, status,
// progress, error, messages), live curves, preview frames, the action-script preview, links to play
// each world model, the checkpoint table, and two runs overlaid.
import { dashboardView } from "../lib/train/index.js";
import { metricChart } from "./charts.js";
import { button } from "./controls.js";
import { injectStyle } from "./style.js";
import { dataTable } from "./table.js";

const STYLE = `
.train-controls { display: flex; gap: 0.5rem; flex-wrap: wrap; margin: 1rem 0 0.5rem; }
.train-controls button, #checkpoint-table button { font: inherit; padding: 0.3rem 0.8rem; }
.preview-row { display: flex; gap: 4px; flex-wrap: wrap; margin-bottom: 4px; }
#train-error:empty { display: none; }
#play-links a.play-link { font-weight: 600; text-decoration: underline; margin-left: 0.5rem; }
`;

/** The curves drawn live and overlaid: metric key, words, element id. */
export const CURVES = [
  { key: "loss", label: "loss", id: "chart-loss" },
  { key: "lr", label: "learning rate", id: "chart-lr" },
  { key: "gradNorm", label: "gradient norm", id: "chart-grad" },
  { key: "stepMs", label: "ms per step", id: "chart-ms" },
  // DiT runs on the built-in game: how much of the real game's response to an action the model
  // reproduces on levels it does not train on (0: it ignores its actions); flat at 0 = not learning them.
  { key: "actionS", label: "action sensitivity S", id: "chart-action-s" },
];

const element = (tag, { id, className, role } = {}) => {
  const el = document.createElement(tag);
  if (id) el.id = id;
  if (className) el.className = className;
  if (role) el.setAttribute("role", role);
  return el;
};

/** Calls `draw(state)` now and on every change of `dashboard` (and on input events of `redrawOn`). */
function live(dashboard, draw, redrawOn) {
  injectStyle("train-dashboard-style", STYLE);
  const redraw = () => draw(dashboard.state);
  const unsubscribe = dashboard.subscribe(draw);
  redrawOn?.addEventListener("input", redraw);
  redraw();
  return () => {
    unsubscribe();
    redrawOn?.removeEventListener("input", redraw);
  };
}

/**
 * Start, Pause, Resume and Stop with the run's status, progress, error and latest messages.
 * `targetSteps()` is the form's step target; `redrawOn`: the form, so the status follows it.
 * Returns `{elements, dispose}`.
 */
export function runControls(dashboard, { start, pause, resume, stop, targetSteps, redrawOn }) {
  const buttons = {
    start: button("Start", start, { id: "train-start" }),
    pause: button("Pause", pause, { id: "train-pause" }),
    resume: button("Resume", resume, { id: "train-resume" }),
    stop: button("Stop and save", stop, { id: "train-stop" }),
  };
  const row = element("div", { className: "train-controls" });
  row.append(...Object.values(buttons));
  const status = element("p", { id: "train-status", role: "status" });
  const progress = element("progress", { id: "train-progress" });
  const progressLabel = element("label");
  progressLabel.append("Progress ", progress);
  const errorBox = element("p", { id: "train-error", role: "alert" });
  const messageList = element("ul", { id: "train-messages" });
  const dispose = live(
    dashboard,
    (state) => {
      const view = dashboardView(state, targetSteps());
      buttons.start.disabled = !view.canStart;
      buttons.pause.disabled = !view.canPause;
      buttons.resume.disabled = !view.canResume;
      buttons.stop.disabled = !view.canStop;
      status.textContent = view.status;
      status.dataset.state = state.state;
      status.dataset.step = String(state.step);
      progress.max = view.progress.max;
      progress.value = view.progress.value;
      errorBox.hidden = !view.error;
      errorBox.textContent = view.error ?? "";
      messageList.replaceChildren(
        ...view.messages.map((text) => Object.assign(document.createElement("li"), { textContent: text })),
      );
    },
    redrawOn,
  );
  return { elements: [row, status, progressLabel, errorBox, messageList], dispose };
}

/**
 * The live curves (CURVES), two a row, at most one redraw a second however fast the steps come:
 * tfjs-vis rebuilds each Vega chart (about 40 ms apiece), and the page's thread should stay free
 * for input. Returns `{element, dispose}`.
 */
export function liveCurves(dashboard, { width }) {
  const grid = element("div", { className: "grid grid-cols-2" });
  const boxes = CURVES.map(({ id }) => grid.appendChild(element("div", { id, className: "card" })));
  const chartWidth = Math.max(260, Math.min(480, Math.floor((width - 48) / 2)));
  let drawn = null;
  let timer = null;
  const draw = () => {
    timer = null;
    const { metrics, run } = dashboard.state;
    if (metrics === drawn) return;
    drawn = metrics;
    CURVES.forEach(({ key, label }, i) => {
      const rows = metrics
        .filter((m) => m[key] !== undefined)
        .map((m) => ({ step: m.step, value: m[key], run: run ?? "run" }));
      boxes[i].replaceChildren(metricChart(rows, { label, width: chartWidth, height: 200, runs: [run ?? "run"] }));
    });
  };
  draw();
  const unsubscribe = dashboard.subscribe(() => (timer ??= setTimeout(draw, 1000)));
  return { element: grid, dispose: () => (unsubscribe(), clearTimeout(timer)) };
}

/** A frame (RGBA bytes) on a canvas shown at 112 px, pixels kept square. */
function frameCanvas(rgba, w, h, label) {
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  canvas.style.width = "112px";
  canvas.style.height = "112px";
  canvas.style.imageRendering = "pixelated";
  return canvas;
}

function frameRow(frames, w, h, labelOf) {
  const div = element("div", { className: "preview-row" });
  div.append(...frames.map((rgba, i) => frameCanvas(rgba, w, h, labelOf(i))));
  return div;
}

/**
 * Real frames above the model's (a DiT's rollout or a VAE's reconstructions), redrawn with each
 * preview. `previewEvery()` is the form's setting, for the words shown before the first one.
 */
export function previewFrames(dashboard, { previewEvery, redrawOn }) {
  const box = element("div", { id: "preview-frames" });
  let shown;
  const dispose = live(
    dashboard,
    ({ preview: p }) => {
      if (p && p === shown) return;
      shown = p;
      if (!p) {
        const every = previewEvery();
        box.textContent =
          every > 0 ? `The first preview comes at step ${every}.` : "Previews are off (preview every 0 steps).";
        return;
      }
      const what =
        p.kind === "rollout"
          ? "generated by the world model from real context frames and the real actions"
          : "reconstructed by the VAE";
      const caption = element("p");
      caption.textContent = `Step ${p.step}: top row real frames, bottom row frames ${what} (${Math.round(p.ms)} ms). Mean PSNR ${(p.psnr.reduce((a, b) => a + b, 0) / p.psnr.length).toFixed(2)} dB.`;
      box.dataset.step = String(p.step);
      box.replaceChildren(
        caption,
        frameRow(p.real, p.width, p.height, (i) => `Real frame ${p.frames[i]}`),
        frameRow(
          p.generated,
          p.width,
          p.height,
          (i) => `Generated frame ${p.frames[i]}, PSNR ${p.psnr[i].toFixed(1)} dB`,
        ),
      );
    },
    redrawOn,
  );
  return { element: box, dispose };
}

/** The real game and the dream given the same action script, redrawn with each DiT preview. */
export function scriptPreviewFrames(dashboard) {
  const box = element("div", { id: "preview-script" });
  let shown;
  const dispose = live(dashboard, ({ scriptPreview: p }) => {
    if (p && p === shown) return;
    shown = p;
    if (!p) {
      box.textContent = "The action-script preview comes with the first preview of a world-model (DiT) run.";
      return;
    }
    const caption = element("p");
    caption.textContent = `Step ${p.step}, level ${p.level}: top row the real game, bottom row the dream, both given ${p.labels.join(", ")} (${Math.round(p.ms)} ms).`;
    box.dataset.step = String(p.step);
    box.replaceChildren(
      caption,
      frameRow(p.real, p.width, p.height, (i) => `Real game frame ${i + 1}: ${p.labels[i]}`),
      frameRow(p.dream, p.width, p.height, (i) => `Dream frame ${i + 1}: ${p.labels[i]}`),
    );
  });
  return { element: box, dispose };
}

/** One item per world-model run (src/lib/train/dashboard.ts `playableRuns`) with its Play link. */
export function playLinks(playable) {
  injectStyle("train-dashboard-style", STYLE);
  const list = element("ul", { id: "play-links" });
  if (!playable.length)
    list.append(
      Object.assign(document.createElement("li"), {
        textContent: "No world-model run with a checkpoint yet: train a DiT run until its first save.",
      }),
    );
  for (const r of playable) {
    const li = document.createElement("li");
    li.dataset.run = r.run;
    const link = element("a", { className: "play-link" });
    link.href = `./play.html?run=${encodeURIComponent(r.run)}`;
    link.textContent = "Play this model";
    link.setAttribute("aria-label", `Play this model: run ${r.run}`);
    li.append(`Run “${r.run}” (step ${r.step}${r.trainedOn ? `, trained on ${r.trainedOn}` : ""}) `, link);
    list.append(li);
  }
  return list;
}

/**
 * A status line for actions that take a while: `act(text, work)` shows "text…", then what `work`
 * resolves to, or why it failed. Made once, so the last outcome stays while tables redraw.
 */
export function actionNote(id) {
  const note = element("p", { id, role: "status" });
  return {
    element: note,
    async act(text, work) {
      note.textContent = `${text}…`;
      try {
        note.textContent = await work();
      } catch (error) {
        note.textContent = `${text} failed: ${error.message}`;
      }
    },
  };
}

/**
 * The checkpoints of stored run `run` (a RunListing, or null with `name` when none is stored),
 * each with Restore, Export TensorFlow.js, Export safetensors and Delete: `on.restore(c)`,
 * `on.export(c, format)`, `on.delete(c)`. Each button's accessible name says which checkpoint.
 */
export function checkpointTable(run, name, on) {
  injectStyle("train-dashboard-style", STYLE);
  const action = (c, text, fn) => button(text, fn, { label: `${text}: ${c.id} of run ${run.run}` });
  const actions = (_, c) => [
    action(c, "Restore", () => on.restore(c)),
    " ",
    action(c, "Export TensorFlow.js", () => on.export(c, "tfjs")),
    " ",
    action(c, "Export safetensors", () => on.export(c, "safetensors")),
    " ",
    action(c, "Delete", () => on.delete(c)),
    " ",
  ];
  return dataTable(run?.checkpoints ?? [], {
    id: "checkpoint-table",
    caption: run ? `Checkpoints of run “${run.run}”` : `Run “${name}” has no checkpoints yet`,
    columns: ["id", "step", "bytes", "actions"],
    labels: { id: "checkpoint", bytes: "size" },
    format: { step: String, bytes: (b) => `${(b / 1e6).toFixed(2)} MB`, actions },
    rowData: (c) => ({ checkpoint: c.id }),
  });
}

/** `metric` of stored runs' `histories` ({run, metrics}) overlaid, one line a run. */
export function overlayChart(histories, metric, { width }) {
  const box = element("div", { id: "overlay", className: "card" });
  if (!histories.length) box.textContent = "No stored run to compare yet: train a run until its first checkpoint.";
  else {
    const label = CURVES.find((c) => c.key === metric).label;
    const rows = histories.flatMap((h) => h.metrics.map((m) => ({ step: m.step, value: m[metric], run: h.run })));
    box.append(
      metricChart(rows, { label, width: Math.min(width, 720), height: 260, runs: histories.map((h) => h.run) }),
    );
  }
  return box;
}
