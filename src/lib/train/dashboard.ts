/**
 * The Training page's state, as plain functions of what the training worker reports (client.ts):
 * `reduceDashboard` folds each notice into the dashboard's state (the run's state and step, its
 * metrics, messages, previews, the phase it is in, why it failed), `dashboardView` says what the
 * controls show, and `TrainDashboard` wires them to a `TrainWorkerClient` (a continued run's
 * earlier metrics are fetched; stored runs are re-read when a checkpoint lands or a run ends).
 * Beside them, the form's settings as a session config, and the names and lists the page shows
 * of stored runs. No DOM here: the view is src/components/train-dashboard.js.
 */
import type { ModelStart, PresetName } from "../models/index.js";
import type { TrainWorkerClient, RunListing, TrainNotice, UploadedData, WorkerError } from "./client.js";
import type { MetricRecord, RunState } from "./metrics.js";
import type { ScriptPreview, SessionPreview, TrainSessionConfig } from "./session.js";

/**
 * One point of the live curves. `actionS`: the action sensitivity S a DiT run measured at this step
 * (session.ts `probeEvery`; the metrics' `extras.actionS`), absent on steps without a probe.
 */
export type CurvePoint = Pick<MetricRecord, "step" | "loss" | "gradNorm" | "lr" | "stepMs"> & { actionS?: number };

export interface DashboardState {
  /** The run's state; "starting" from the press of Start until the worker reports one. */
  state: RunState | "starting";
  step: number;
  run: string | null;
  /** The settings the run really trains with (a continued run keeps its own), once it is ready. */
  config: TrainSessionConfig | null;
  metrics: CurvePoint[];
  messages: { level: "info" | "warning" | "error"; text: string }[];
  preview: SessionPreview | null;
  scriptPreview: ScriptPreview | null;
  /** Work before the first step: building episodes, encoding latents, decoding the upload. */
  phase: { phase: "data" | "encode" | "upload"; done: number; total: number } | null;
  error: { message: string; code?: string } | null;
}

export const IDLE_DASHBOARD: DashboardState = Object.freeze({
  state: "idle",
  step: 0,
  run: null,
  config: null,
  metrics: [],
  messages: [],
  preview: null,
  scriptPreview: null,
  phase: null,
  error: null,
});

/** What changes the dashboard: the worker's notices, and the page's own steps. */
export type DashboardInput =
  | TrainNotice
  /** Start was pressed for `run`: a fresh dashboard. */
  | { type: "starting"; run: string }
  /** Start was refused before reaching the worker (a missing name, file or dataset). */
  | { type: "refused"; message: string }
  /** A continued run's stored metrics (client.ts `history`). */
  | { type: "history"; metrics: CurvePoint[] };

const point = (m: CurvePoint & { extras?: Record<string, number> }): CurvePoint => {
  const actionS = m.actionS ?? m.extras?.actionS;
  return {
    step: m.step,
    loss: m.loss,
    gradNorm: m.gradNorm,
    lr: m.lr,
    stepMs: m.stepMs,
    ...(actionS === undefined ? {} : { actionS }),
  };
};

/** The dashboard after `input`; `state` is not changed. */
export function reduceDashboard(state: DashboardState, input: DashboardInput): DashboardState {
  switch (input.type) {
    case "starting":
      return { ...IDLE_DASHBOARD, state: "starting", run: input.run };
    case "refused":
      return { ...state, error: { message: input.message } };
    case "history": {
      const live = new Set(state.metrics.map((m) => m.step));
      return { ...state, metrics: [...input.metrics.filter((m) => !live.has(m.step)).map(point), ...state.metrics] };
    }
    case "upload":
      return { ...state, phase: { phase: "upload", done: input.done, total: input.total } };
    case "ended": {
      const active = state.state === "running" || state.state === "paused" || state.state === "starting";
      return {
        ...state,
        error: input.error,
        phase: null,
        state: active ? (input.error ? "failed" : "stopped") : state.state,
      };
    }
    case "event": {
      const event = input.event;
      switch (event.type) {
        case "metrics":
          return { ...state, step: event.step, metrics: [...state.metrics, point(event)] };
        case "state":
          return { ...state, state: event.state, step: event.step };
        case "phase":
          return { ...state, phase: { phase: event.phase, done: event.done, total: event.total } };
        case "ready":
          return {
            ...state,
            phase: null,
            config: event.config,
            messages: [...state.messages, ...event.notes.map((text) => ({ level: "info" as const, text }))],
          };
        case "preview":
          return { ...state, preview: event };
        case "script-preview":
          return { ...state, scriptPreview: event };
        case "message":
          return { ...state, messages: [...state.messages, { level: event.level, text: event.text }] };
        default:
          return state;
      }
    }
  }
}

/** What a notice asks of the page besides new state: a continued run's history, a fresh list of stored runs. */
export function dashboardFollowUp(input: DashboardInput): { history: string | null; refreshRuns: boolean } {
  if (input.type === "ended") return { history: null, refreshRuns: true };
  if (input.type !== "event") return { history: null, refreshRuns: false };
  const e = input.event;
  return {
    history: e.type === "ready" && e.continued ? e.config.run : null,
    refreshRuns: e.type === "checkpoint" || e.type === "finished",
  };
}

const PHASE_WORDS = {
  data: "building episodes",
  encode: "encoding frames to latents",
  upload: "decoding the video",
} as const;
const BUSY = new Set<DashboardState["state"]>(["starting", "running", "paused", "stopping"]);

/** What the run controls show: which buttons work, the status line, the progress bar, the error and the latest messages. */
export interface DashboardView {
  canStart: boolean;
  canPause: boolean;
  canResume: boolean;
  canStop: boolean;
  status: string;
  progress: { value: number; max: number };
  /** Why the run could not go on, in words; null when nothing failed. */
  error: string | null;
  /** The newest six messages, warnings marked. */
  messages: string[];
}

/** The controls for `state`; `targetSteps` is the form's step target, used until the run says its own. */
export function dashboardView(state: DashboardState, targetSteps: number): DashboardView {
  const target = state.config?.steps ?? targetSteps;
  const { phase } = state;
  const status = phase
    ? `${state.run}: ${PHASE_WORDS[phase.phase]} (${phase.done} of ${phase.total} frames)`
    : state.run
      ? `${state.run}: ${state.state}, step ${state.step} of ${target}`
      : "No run started yet.";
  return {
    canStart: !BUSY.has(state.state),
    canPause: state.state === "running",
    canResume: state.state === "paused",
    canStop: state.state === "running" || state.state === "paused",
    status,
    progress: phase
      ? { value: phase.done, max: Math.max(1, phase.total) }
      : { value: state.step, max: Math.max(1, target) },
    error: state.error
      ? `The run could not go on: ${state.error.code ? `error[${state.error.code}]: ` : ""}${state.error.message}`
      : null,
    messages: state.messages.slice(-6).map((m) => `${m.level === "warning" ? "Warning: " : ""}${m.text}`),
  };
}

/** The Training form's settings (src/pages/train.md). */
export interface DashboardForm {
  run: string;
  model: "dit" | "vae";
  preset: PresetName;
  source: "game" | "upload" | "stored";
  /** The stored dataset chosen (source "stored"). */
  dataset: string | null;
  gameSeed: number;
  episodes: number;
  frames: number;
  /** The uploaded files (source "upload"), Files in a page. */
  video: Blob | null;
  actions: Blob | null;
  steps: number;
  batchSize: number;
  lr: number;
  clipLength: number;
  checkpointEvery: number;
  previewEvery: number;
  init: ModelStart;
  vae: ModelStart;
}

const nameOf = (blob: Blob | null, fallback: string): string =>
  blob && "name" in blob && typeof blob.name === "string" ? blob.name : fallback;

/** Why the form cannot start a run, in words; null when it can. */
export function startProblem(form: DashboardForm): string | null {
  if (!form.run.trim()) return "Give the run a name.";
  if (form.source === "stored" && !form.dataset)
    return "There is no stored dataset yet: record your play on the Play page, or save an upload on the Data page.";
  if (form.source === "upload" && (!form.video || !form.actions))
    return "Choose a video and its action log to train on uploaded data.";
  return null;
}

/** The session a form starts (a stored run of the same name continues with its own settings; the worker says so). */
export function sessionConfigFromForm(form: DashboardForm): TrainSessionConfig {
  const data: TrainSessionConfig["data"] =
    form.source === "upload"
      ? { kind: "upload", name: nameOf(form.video, "video"), frames: 0 }
      : form.source === "stored"
        ? { kind: "stored", name: form.dataset ?? "" }
        : { kind: "game", seed: form.gameSeed, episodes: form.episodes, frames: form.frames };
  return {
    run: form.run.trim(),
    model: form.model,
    preset: form.preset,
    data,
    steps: form.steps,
    batchSize: form.batchSize,
    lr: form.lr,
    warmupSteps: Math.min(100, Math.ceil(form.steps / 10)),
    seed: 0,
    clipLength: form.clipLength,
    checkpointEvery: form.checkpointEvery,
    keep: 3,
    previewEvery: form.previewEvery,
    previewFrames: 4,
    init: form.init,
    vae: form.vae,
  };
}

/** The files of an upload form, as the worker takes them; null for other sources. */
export function uploadFromForm(form: DashboardForm): UploadedData | null {
  if (form.source !== "upload" || !form.video || !form.actions) return null;
  return {
    video: form.video,
    videoName: nameOf(form.video, "video"),
    actions: form.actions,
    actionsName: nameOf(form.actions, "actions"),
  };
}

/**
 * Where a run's model (`init`) and a DiT's VAE (`vae`) can start, by the words the form shows:
 * the shipped weights first when the build has them (the default), then seeded, then stored runs
 * (runs with a checkpoint for `init`; VAE runs for `vae`).
 */
export function startOptions(
  runs: readonly RunListing[],
  shipped: boolean,
): { init: Map<string, ModelStart>; vae: Map<string, ModelStart> } {
  const stored = (list: RunListing[]) => list.map((r): [string, ModelStart] => [r.run, { kind: "run", run: r.run }]);
  return {
    init: new Map([
      ...(shipped ? [["shipped weights (pretrained realtime model)", { kind: "shipped" }] as const] : []),
      ["seeded initialisation", { kind: "seeded" }] as const,
      ...stored(trainedRuns(runs)),
    ]),
    vae: new Map([
      ...(shipped ? [["shipped weights (pretrained realtime VAE)", { kind: "shipped" }] as const] : []),
      ["untrained (seeded) VAE", { kind: "seeded" }] as const,
      ...stored(vaeRuns(runs)),
    ]),
  };
}

/** `run-1`, `run-2`…: the first name no stored run has. */
export function freshRunName(runs: readonly Pick<RunListing, "run">[]): string {
  for (let i = 1; ; i++) if (!runs.some((r) => r.run === `run-${i}`)) return `run-${i}`;
}

/** The name of a new run restored from `run` at `step`: `RUN-from-STEP`, then `-2`, `-3`… while taken. */
export function branchRunName(run: string, step: number, runs: readonly Pick<RunListing, "run">[]): string {
  let name = `${run}-from-${step}`;
  for (let i = 2; runs.some((r) => r.run === name); i++) name = `${run}-from-${step}-${i}`;
  return name;
}

/** Stored runs with a good checkpoint. */
export function trainedRuns(runs: readonly RunListing[]): RunListing[] {
  return runs.filter((r) => r.step !== null);
}

/** Runs that can start a DiT's VAE: VAE runs of the dashboard, and runs from elsewhere with a checkpoint. */
export function vaeRuns(runs: readonly RunListing[]): RunListing[] {
  return runs.filter((r) => r.session?.model === "vae" || (!r.session && r.step !== null));
}

/** World-model runs the Play page can open (DiT runs, and runs from elsewhere), each with what it trained on. */
export function playableRuns(runs: readonly RunListing[]): { run: string; step: number; trainedOn: string | null }[] {
  return trainedRuns(runs)
    .filter((r) => (r.session ? r.session.model === "dit" : true))
    .map((r) => {
      const data = r.session?.data;
      const trainedOn = !data
        ? null
        : data.kind === "stored"
          ? `dataset “${data.name}”`
          : data.kind === "upload"
            ? data.name
            : "built-in game episodes";
      return { run: r.run, step: r.step as number, trainedOn };
    });
}

/**
 * The dashboard of one worker: its state, kept by `reduceDashboard` from the worker's notices,
 * with the follow-ups done (a continued run's history fetched, `onRunsChanged` called when stored
 * runs change). `subscribe` hears every new state.
 */
export class TrainDashboard {
  private current: DashboardState = IDLE_DASHBOARD;
  private readonly listeners = new Set<(state: DashboardState) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly client: Pick<TrainWorkerClient, "onNotice" | "history" | "start">,
    private readonly onRunsChanged: () => void = () => {},
  ) {
    this.unsubscribe = client.onNotice((notice) => this.apply(notice));
  }

  get state(): DashboardState {
    return this.current;
  }

  subscribe(listener: (state: DashboardState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(input: DashboardInput): void {
    this.current = reduceDashboard(this.current, input);
    for (const listener of this.listeners) listener(this.current);
    const follow = dashboardFollowUp(input);
    if (follow.refreshRuns) this.onRunsChanged();
    if (follow.history) {
      this.client.history([follow.history]).then(
        ([h]) => h && this.apply({ type: "history", metrics: h.metrics }),
        (error: WorkerError) =>
          this.apply({
            type: "event",
            event: {
              type: "message",
              level: "warning",
              code: "TRAIN_HISTORY",
              text: `The run's earlier metrics could not be read: ${error.message}`,
              step: 0,
            },
          }),
      );
    }
  }

  /** Starts a run from the form, or says in the dashboard why it cannot. */
  start(form: DashboardForm): boolean {
    const problem = startProblem(form);
    if (problem) {
      this.apply({ type: "refused", message: problem });
      return false;
    }
    const config = sessionConfigFromForm(form);
    this.apply({ type: "starting", run: config.run });
    this.client.start(config, uploadFromForm(form));
    return true;
  }

  dispose(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
