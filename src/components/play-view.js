// The Play page's view (src/pages/play.md): DOM for live play driven by a PlayClient
// (src/lib/play/client.ts). The parts, in page order: the status of what plays (model, backend,
// notices, the error that stops play) with the performance meter and the two canvases; the clip
// recorder (WebM, PNG strip, action log); recording your play as a dataset; and the card that
// chooses the model and the starting point. Each part returns its elements and the calls the
// client's handlers make; the page lays them out.
import * as Inputs from "@observablehq/inputs";
import { describeAction } from "../lib/actions/index.js";
import { describeVae, formatVaeChoice, parseVaeChoice, playChoiceToParams } from "../lib/play/index.js";
import { actionLogBlob, downloadBlob } from "../lib/play/browser.js";
import { exportUserDatasetVideo } from "../lib/data/browser.js";
import { labelInput } from "./a11y.js";
import { button } from "./controls.js";
import { createPlayer } from "./player.js";
import { injectStyle } from "./style.js";

const STYLE = `
.play-meter { font: 14px var(--sans-serif); font-variant-numeric: tabular-nums; margin: 0.5rem 0; }
.play-meter output { font-weight: 600; }
#play-notices { padding-left: 1.2rem; margin: 0.25rem 0; }
#play-notices .notice-warning, #play-notices .notice-error { color: #9a3412; }
`;

/** A paragraph of controls, spaced as inline HTML would space them. */
function row(...items) {
  const p = document.createElement("p");
  items.forEach((item, i) => p.append(...(i ? [" ", item] : [item])));
  return p;
}

function element(tag, { id, text, role, hidden } = {}) {
  const el = document.createElement(tag);
  if (id) el.id = id;
  if (text !== undefined) el.textContent = text;
  if (role) el.setAttribute("role", role);
  if (hidden) el.hidden = true;
  return el;
}

/**
 * What plays and how fast: `name` (the model's short name), `card` (backend, description, the
 * backend's reason, why no game is shown, notices), `fatal` (shown instead of the canvases when
 * nothing can be played), `meter` and `player` (the canvases). `offscreen` says whether the worker
 * draws into the canvases itself. The handlers: `ready`, `frame`, `notice`, `error`, `lost`.
 */
export function playStatus({ useOffscreen }) {
  injectStyle("play-view-style", STYLE);
  const player = createPlayer({ size: 384 });
  const backend = element("code");
  const description = element("span");
  const reason = element("p");
  const name = element("strong", { id: "play-model-name", text: "loading…" });
  const startWhy = element("p", { id: "play-start-why", hidden: true });
  const fatal = element("p", { id: "play-error", role: "alert", hidden: true });
  const list = element("ul", { id: "play-notices" });
  const notices = element("div", { role: "status" });
  notices.setAttribute("aria-live", "polite");
  notices.append(list);
  const out = Object.fromEntries(
    ["fps", "ms", "frame", "action", "tensors"].map((key) => [
      key,
      element("output", { id: `play-${key}`, text: "…" }),
    ]),
  );
  const meter = element("div");
  meter.className = "play-meter";
  meter.setAttribute("aria-label", "Performance");
  const part = (label, output) => {
    const span = element("span");
    span.append(label, output);
    return span;
  };
  meter.append(
    part("Speed: ", out.fps),
    " · ",
    part("Dream: ", out.ms),
    " · ",
    part("Frame ", out.frame),
    " · ",
    part("Action: ", out.action),
    " · ",
    part("Tensors: ", out.tensors),
  );
  const card = element("div");
  card.className = "card";
  const playing = element("p");
  playing.append("Playing: ", name);
  const strong = element("strong");
  strong.append(backend);
  const runsOn = element("p");
  runsOn.append("World model on ", strong, ": ", description);
  card.append(playing, runsOn, reason, startWhy, notices);

  function notice(level, text) {
    const item = element("li", { text });
    item.className = `notice-${level}`;
    list.append(item);
    while (list.children.length > 6) list.firstChild.remove();
  }

  return {
    name,
    card,
    fatal,
    meter,
    player,
    offscreen: useOffscreen,
    notice,
    ready(ready, restoredFrom) {
      backend.textContent = ready.backend.backend;
      reason.textContent = ready.decodeWorker
        ? `${ready.backend.reason}; a second worker decodes each frame while this one generates the next`
        : ready.backend.reason;
      if (restoredFrom !== null) {
        notice(
          "info",
          `Play recovered from the lost WebGL context on ${ready.backend.backend} and goes on from frame ${restoredFrom}.`,
        );
      } else {
        description.textContent = ready.model.description;
        name.textContent = ready.model.name;
        name.dataset.kind = ready.model.kind;
        for (const note of ready.model.notes) notice("warning", note);
        if (!ready.game) {
          // No game to show beside the dream: the dream alone, and why.
          player.canvases.real.closest("figure").hidden = true;
          startWhy.hidden = false;
          startWhy.textContent = `Starting from ${ready.start.description}. ${ready.start.why}`;
        }
        if (ready.model.kind === "untrained")
          notice(
            "warning",
            "Untrained weights: no trained model is loaded, so the dream shows what a freshly initialised model makes of your actions (noise-like frames), not the game.",
          );
        if (!useOffscreen)
          notice(
            "info",
            "This browser cannot draw from a worker (no OffscreenCanvas); the page draws the frames the worker sends.",
          );
      }
      const { override, backend: used } = ready.backend;
      if (override && used !== override)
        notice("warning", `${override} is not available here; the world model runs on ${used} instead.`);
    },
    frame(stats, pixels) {
      out.fps.textContent = `${stats.fps.toFixed(0)} FPS`;
      out.ms.textContent = `${stats.dreamMs.toFixed(1)} ms/frame`;
      out.frame.textContent = String(stats.index);
      out.frame.dataset.frame = String(stats.index);
      out.action.textContent = describeAction(stats.action);
      out.tensors.textContent = String(stats.numTensors);
      if (pixels.dream) player.draw(pixels.real, pixels.dream);
    },
    error(error, isFatal) {
      if (!isFatal) return notice("error", `${error.message} (${error.code})`);
      // Nothing can be played: say why in place of the canvases (no broken picture).
      player.element.style.display = "none";
      fatal.hidden = false;
      fatal.dataset.code = error.code;
      fatal.textContent = `This cannot be played: ${error.message} Choose another model or starting point below.`;
      name.textContent = "nothing playing";
    },
    /** The context was lost at frame `at`: fresh canvases for the worker the client starts next (a canvas transfers only once). */
    lost(at) {
      notice(
        "warning",
        `The WebGL context was lost at frame ${at}; restarting the world model in a fresh worker from the kept weights and latents.`,
      );
      player.replaceCanvases();
    },
  };
}

/**
 * Records the clip being played (real game and dream side by side, encoded by `recorder`, a
 * PlayRecorder) and downloads it as WebM, a PNG strip or the worker's action log. `frame` takes
 * the client's frames (the worker posts the pixels while recording).
 */
export function clipRecorder({ client, recorder, seed, useOffscreen }) {
  let recording = false;
  let last = null;
  const info = element("p", { id: "play-record-info", text: "Not recording." });
  const record = button(
    "Start recording",
    async () => {
      if (!recording) {
        recording = true;
        recorder.start();
        client.pixels(true);
        record.textContent = "Stop recording";
        info.textContent = "Recording: 0 frames";
        return;
      }
      recording = false;
      if (useOffscreen) client.pixels(false);
      last = await recorder.stop();
      record.textContent = "Start recording";
      info.textContent = `Recorded ${last.frames} frames${last.reason ? ` (${last.reason})` : ""}.`;
      webm.disabled = !last.webm;
      png.disabled = last.frames === 0;
    },
    { id: "play-record" },
  );
  const webm = button("Download WebM", () => downloadBlob(last.webm, `gamedream-play-${seed}.webm`), {
    id: "play-download-webm",
    disabled: true,
  });
  const png = button(
    "Download PNG frames",
    async () => downloadBlob(await recorder.pngStrip(8), `gamedream-play-${seed}-frames.png`),
    { id: "play-download-png", disabled: true },
  );
  const log = button(
    "Download action log (JSON)",
    async () => downloadBlob(actionLogBlob(await client.actionLog()), `gamedream-play-${seed}-actions.json`),
    { id: "play-download-actions" },
  );
  return {
    controls: row(record, webm, png, log),
    info,
    frame(stats, pixels) {
      if (!recording || !pixels.real || !pixels.dream) return;
      recorder.addFrame(
        [
          { data: pixels.real, width: 256, height: 256 },
          { data: pixels.dream, width: 256, height: 256 },
        ],
        stats.action,
      );
      info.textContent = `Recording: ${recorder.frames} frames`;
    },
  };
}

/**
 * Records your play as a dataset: the worker keeps the real game's frames and the actions held on
 * them and saves them in IndexedDB under the name given (src/lib/data/user-data.ts); when a name
 * is refused the frames stay there to save again. Then links to training on it and exports it as
 * video + action log. `frame` shows the count as it grows.
 */
export function datasetRecorder({ client }) {
  let recording = false;
  let saved = null;
  const count = element("output", { id: "record-dataset-count", text: "Not recording." });
  const status = element("p", { id: "record-dataset-status", role: "status" });
  const name = labelInput(
    Inputs.text({ label: "Dataset name", value: `my-play-${new Date().toISOString().slice(0, 10)}`, submit: false }),
  );
  name.id = "record-dataset-name";
  const start = button(
    "Start recording a dataset",
    async () => {
      if (recording) return save();
      recording = true;
      client.startRecording();
      start.textContent = "Stop and save the dataset";
      status.textContent = "Recording the game as you play: every frame and the keys held on it.";
    },
    { id: "record-dataset" },
  );
  const retry = button("Save the recording", () => save(), { id: "record-dataset-save" });
  retry.hidden = true;
  const video = button(
    "Download it as video + action log",
    async () => {
      status.textContent = "Encoding the video…";
      try {
        const out = await exportUserDatasetVideo(saved.name);
        downloadBlob(out.video, `${saved.name}.webm`);
        downloadBlob(out.actions, `${saved.name}-actions.json`);
        status.textContent = `Saved ${saved.name}.webm (${out.frames} frames at 30 fps) and ${saved.name}-actions.json to your downloads.`;
      } catch (error) {
        status.textContent = `The export failed: ${error.message}`;
      }
    },
    { id: "record-dataset-video", disabled: true },
  );

  async function save() {
    start.disabled = retry.disabled = true;
    status.textContent = "Saving…";
    try {
      const result = await client.stopRecording(name.value);
      saved = result.saved;
      retry.hidden = true;
      status.dataset.saved = saved.name;
      const train = Object.assign(element("a", { text: "the Training page" }), {
        href: `./train.html?data=${encodeURIComponent(saved.name)}`,
      });
      status.replaceChildren(
        `Saved ${saved.frames} frames as the dataset “${saved.name}” (${(saved.bytes / 1e6).toFixed(1)} MB in this browser).${saved.warning ? ` ${saved.warning}` : ""} Train on it on `,
        train,
        ".",
      );
      video.disabled = false;
    } catch (error) {
      // The frames stay in the worker: fix the name and save again.
      retry.hidden = false;
      status.textContent = `The recording was not saved: ${error.message}`;
    } finally {
      recording = false;
      start.textContent = "Start recording a dataset";
      start.disabled = retry.disabled = false;
    }
  }

  return {
    name,
    controls: row(start, retry, video, count),
    status,
    frame(stats) {
      if (stats.recorded !== null) count.textContent = `${stats.recorded} frames recorded`;
    },
  };
}

/**
 * Which model plays and where the dream starts. "Play this choice" writes the choice into the URL
 * and reloads, so the page (and a later reload) plays exactly what the URL names. `runs` and
 * `datasets` are what this browser stores (src/lib/play/catalog.browser.ts); `importModel`
 * stores imported files as a run (the client's `importModel`), which then opens.
 */
export function modelPicker({ choice, start, seed, shipped, runs, datasets, importModel }) {
  const SHIPPED = "shipped";
  const UNTRAINED = "untrained";
  const ditRuns = runs.filter((r) => r.kind !== "vae");
  const vaeRuns = runs.filter((r) => r.kind === "vae");
  const options = new Map([
    ...(shipped ? [["Shipped weights (pretrained realtime model)", SHIPPED]] : []),
    ...ditRuns.map((r) => [`Run “${r.run}” (step ${r.checkpoints.at(-1).step})`, `run:${r.run}`]),
    ["Untrained (seeded initialisation)", UNTRAINED],
  ]);
  const current = choice.kind === "run" ? `run:${choice.run}` : choice.kind;
  const model = labelInput(
    Inputs.select(options, { label: "Model", value: [...options.values()].includes(current) ? current : undefined }),
  );
  const checkpoint = labelInput(Inputs.select(new Map([["newest", ""]]), { label: "Checkpoint" }));
  const vae = labelInput(Inputs.select(new Map([["the one it was trained on", ""]]), { label: "VAE" }));
  const runOf = (value) => (value.startsWith("run:") ? ditRuns.find((r) => `run:${r.run}` === value) : null);
  const select = (input) => input.querySelector("select");
  // Checkpoint and VAE choices follow the chosen run.
  function fillRunChoices() {
    const run = runOf(model.value);
    const checkpoints = select(checkpoint);
    const vaes = select(vae);
    checkpoints.replaceChildren(
      new Option("newest", ""),
      ...(run?.checkpoints ?? [])
        .slice()
        .reverse()
        .map((c) => new Option(`${c.id} (step ${c.step})`, c.id)),
    );
    const trained = run?.trainedOn ? ` (${describeVae(run.trainedOn)})` : "";
    vaes.replaceChildren(
      new Option(`the one it was trained on${trained}`, ""),
      ...(shipped ? [new Option("the shipped VAE", "shipped")] : []),
      new Option("an untrained (seeded) VAE", "seeded"),
      ...vaeRuns.map((r) => new Option(`the VAE of run “${r.run}”`, `run:${r.run}`)),
    );
    checkpoints.disabled = vaes.disabled = !run;
    if (run && choice.kind === "run" && `run:${choice.run}` === model.value) {
      checkpoints.value = choice.checkpoint ?? "";
      vaes.value = choice.vae ? formatVaeChoice(choice.vae) : "";
    }
  }
  model.addEventListener("input", fillRunChoices);
  fillRunChoices();
  const startOptions = new Map([
    ["the built-in game", "game"],
    ...datasets.map((d) => [`the first frames of dataset “${d.name}” (${d.frames} frames)`, `dataset:${d.name}`]),
  ]);
  const startFrom = labelInput(
    Inputs.select(startOptions, {
      label: "Start from",
      value: start.kind === "dataset" ? `dataset:${start.name}` : "game",
    }),
  );
  const level = labelInput(Inputs.number([0, 1e6], { label: "Game level", step: 1, value: seed }));
  const apply = button(
    "Play this choice",
    () => {
      const run = runOf(model.value);
      const next = run
        ? {
            kind: "run",
            run: run.run,
            checkpoint: select(checkpoint).value || null,
            vae: parseVaeChoice(select(vae).value),
          }
        : model.value === SHIPPED
          ? { kind: "shipped" }
          : { kind: "untrained", preset: "realtime", seed };
      const params = playChoiceToParams(next, new URLSearchParams(location.search));
      if (startFrom.value === "game") params.delete("start");
      else params.set("start", startFrom.value);
      params.set("seed", String(level.value));
      location.search = params.toString();
    },
    { id: "play-apply" },
  );

  const importInput = element("input", { id: "play-import" });
  importInput.type = "file";
  importInput.multiple = true;
  importInput.accept = ".tar,.safetensors,.json,application/x-tar";
  const importStatus = element("p", { id: "play-import-status", role: "status" });
  importInput.addEventListener("change", async () => {
    const files = [...importInput.files];
    if (!files.length) return;
    importStatus.textContent = `Importing ${files.map((f) => f.name).join(" + ")}…`;
    try {
      const payload = await Promise.all(
        files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
      );
      const result = await importModel(payload);
      if (result.kind === "vae") {
        importStatus.textContent = `Imported ${files[0].name} as the VAE run “${result.run}”: choose it as the VAE of a world model above.`;
        return;
      }
      importStatus.textContent = `Imported ${files[0].name} as run “${result.run}”; opening it…`;
      location.search = playChoiceToParams(
        { kind: "run", run: result.run, checkpoint: null, vae: null },
        new URLSearchParams(location.search),
      ).toString();
    } catch (error) {
      importStatus.textContent = `The import failed: ${error.message}`;
    } finally {
      importInput.value = "";
    }
  });
  return { model, checkpoint, vae, startFrom, level, apply, importInput, importStatus };
}
