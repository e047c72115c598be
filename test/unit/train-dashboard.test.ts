/**
 * The Training page's lib side (src/lib/train/client.ts, dashboard.ts): the worker client's
 * request/reply and start protocol against a made-up worker, the dashboard state each notice
 * makes, what the controls show, the form's session config, and the stored-run lists.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SESSION,
  IDLE_DASHBOARD,
  TrainDashboard,
  TrainWorkerClient,
  branchRunName,
  dashboardFollowUp,
  dashboardView,
  freshRunName,
  playableRuns,
  reduceDashboard,
  sessionConfigFromForm,
  startOptions,
  startProblem,
  uploadFromForm,
  type DashboardForm,
  type DashboardInput,
  type DashboardState,
  type FromTrainWorker,
  type RunListing,
  type SessionEvent,
  type ToTrainWorker,
  type TrainSessionConfig,
} from "../../src/lib/train/index.js";

/** A worker that records what it is sent; `emit` plays its answers. */
function fakeWorker() {
  const sent: ToTrainWorker[] = [];
  const listeners: ((event: { data: FromTrainWorker }) => void)[] = [];
  let terminated = false;
  return {
    sent,
    get terminated() {
      return terminated;
    },
    emit: (data: FromTrainWorker) => listeners.forEach((l) => l({ data })),
    port: {
      postMessage: (message: ToTrainWorker) => void sent.push(message),
      addEventListener: (_: "message", l: (event: { data: FromTrainWorker }) => void) => void listeners.push(l),
      terminate: () => void (terminated = true),
    },
  };
}

const config = (run: string, extra: Partial<TrainSessionConfig> = {}): TrainSessionConfig => ({
  ...DEFAULT_SESSION,
  run,
  ...extra,
});
const event = (e: SessionEvent): DashboardInput => ({ type: "event", event: e });
const metrics = (step: number, loss = 1 / step): SessionEvent => ({
  type: "metrics",
  step,
  loss,
  gradNorm: 1,
  lr: 3e-4,
  stepMs: 500,
  examplesPerSec: 2,
  batchSize: 1,
  memoryBytes: 0,
  numTensors: 0,
  extras: {},
});
const run = (name: string, step: number | null, session: TrainSessionConfig | null = null): RunListing => ({
  run: name,
  checkpoints: [],
  session,
  step,
});
const fold = (inputs: DashboardInput[], from: DashboardState = IDLE_DASHBOARD) => inputs.reduce(reduceDashboard, from);

const FORM: DashboardForm = {
  run: " my-run ",
  model: "dit",
  preset: "realtime",
  source: "game",
  dataset: null,
  gameSeed: 7,
  episodes: 2,
  frames: 48,
  video: null,
  actions: null,
  steps: 200,
  batchSize: 2,
  lr: 3e-4,
  clipLength: 3,
  checkpointEvery: 25,
  previewEvery: 25,
  init: { kind: "shipped" },
  vae: { kind: "seeded" },
};

describe("the training worker client", () => {
  it("answers each question by its id, and turns a worker error into an Error with its code", async () => {
    const w = fakeWorker();
    const client = new TrainWorkerClient(w.port);
    const runs = client.runs();
    const exported = client.exportCheckpoint("a", "ckpt-1", "safetensors");
    expect(w.sent).toEqual([
      { type: "request", id: 1, request: { type: "runs" } },
      { type: "request", id: 2, request: { type: "export", run: "a", checkpoint: "ckpt-1", format: "safetensors" } },
    ]);
    // Answers in the other order still reach their questions.
    w.emit({
      type: "reply",
      id: 2,
      error: { code: "CHECKPOINT_MISSING", type: "storage", message: "gone", recoverable: true },
    });
    w.emit({ type: "reply", id: 1, result: [run("a", 3)] });
    expect(await runs).toEqual([run("a", 3)]);
    await expect(exported).rejects.toMatchObject({ message: "gone", code: "CHECKPOINT_MISSING" });
  });

  it("resolves init with the worker's ready message, or rejects when it ends first", async () => {
    const w = fakeWorker();
    const client = new TrainWorkerClient(w.port);
    const init = { wasmPaths: {}, backend: null, overrides: {}, shippedWeights: null };
    const ready = client.init(init);
    expect(w.sent[0]).toEqual({ type: "init", ...init });
    const message = {
      type: "ready",
      backend: { backend: "wasm" },
      device: { preset: "realtime", batchSize: 2, reasons: [] },
    } as unknown as FromTrainWorker;
    w.emit(message);
    expect(await ready).toBe(message);

    const failing = client.init(init);
    w.emit({
      type: "ended",
      error: { code: "BACKEND_NONE", type: "backend", message: "no backend", recoverable: false },
    });
    await expect(failing).rejects.toMatchObject({ code: "BACKEND_NONE" });
  });

  it("sends run controls, hands notices to listeners, and refuses unanswered questions when closed", async () => {
    const w = fakeWorker();
    const client = new TrainWorkerClient(w.port);
    const heard: string[] = [];
    const stop = client.onNotice((n) => heard.push(n.type));
    client.start(config("a"));
    client.pause();
    client.resume();
    client.stop();
    expect(w.sent.map((m) => m.type)).toEqual(["start", "pause", "resume", "stop"]);
    w.emit({ type: "upload", done: 1, total: 2 });
    w.emit({ type: "reply", id: 99, result: null });
    stop();
    w.emit({ type: "ended", error: null });
    expect(heard).toEqual(["upload"]);
    const pending = client.history(["a"]);
    client.dispose();
    expect(w.terminated).toBe(true);
    await expect(pending).rejects.toThrow(/closed/);
  });
});

describe("the dashboard state", () => {
  it("follows a run from start to stop: phases, notes, metrics, state", () => {
    const before = fold([event(metrics(1))]);
    const s = fold(
      [
        { type: "starting", run: "r" },
        event({ type: "phase", phase: "data", done: 3, total: 96 }),
        event({
          type: "ready",
          config: config("r", { steps: 50 }),
          parameters: 1,
          episodes: 2,
          frames: 96,
          notes: ["The DiT starts seeded."],
          continued: false,
        }),
        event({ type: "state", state: "running", step: 0 }),
        event(metrics(1)),
        event(metrics(2)),
        event({ type: "message", level: "warning", code: "X", text: "careful", step: 2 }),
      ],
      before,
    );
    expect(s).toMatchObject({ state: "running", step: 2, run: "r", phase: null, error: null });
    expect(s.config?.steps).toBe(50);
    expect(s.metrics.map((m) => m.step)).toEqual([1, 2]);
    expect(s.metrics[1]).toEqual({ step: 2, loss: 0.5, gradNorm: 1, lr: 3e-4, stepMs: 500 });
    expect(s.messages).toEqual([
      { level: "info", text: "The DiT starts seeded." },
      { level: "warning", text: "careful" },
    ]);
    expect(reduceDashboard(s, { type: "ended", error: null }).state).toBe("stopped");
    const failed = reduceDashboard(s, {
      type: "ended",
      error: { code: "TRAIN_OOM", type: "training", message: "out of memory", recoverable: true },
    });
    expect(failed).toMatchObject({ state: "failed", error: { code: "TRAIN_OOM" } });
    // A run that finished keeps its state when the worker reports the end.
    expect(fold([event({ type: "state", state: "done", step: 50 }), { type: "ended", error: null }], s).state).toBe(
      "done",
    );
  });

  it("puts a continued run's stored metrics before the live ones, without repeats", () => {
    const s = fold([{ type: "starting", run: "r" }, event(metrics(5)), event(metrics(6))]);
    const merged = reduceDashboard(s, {
      type: "history",
      metrics: [1, 2, 3, 4, 5].map((step) => ({ step, loss: 9, gradNorm: 1, lr: 1, stepMs: 1 })),
    });
    expect(merged.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(merged.metrics[4].loss).toBe(0.2);
  });

  it("keeps the action sensitivity S a step measured (live or stored), and only there", () => {
    const probed = { ...metrics(4), extras: { actionS: 0.125 } } as SessionEvent;
    const s = fold([{ type: "starting", run: "r" }, event(metrics(3)), event(probed)]);
    expect(s.metrics.map((m) => m.actionS)).toEqual([undefined, 0.125]);
    const stored = reduceDashboard(s, {
      type: "history",
      metrics: [{ step: 2, loss: 1, gradNorm: 1, lr: 1, stepMs: 1, extras: { actionS: 0.05 } } as never],
    });
    expect(stored.metrics[0]).toMatchObject({ step: 2, actionS: 0.05 });
  });

  it("changes nothing it is given", () => {
    const s = fold([{ type: "starting", run: "r" }, event(metrics(1))]);
    const copy = structuredClone(s);
    fold(
      [
        event(metrics(2)),
        event({ type: "message", level: "info", code: "I", text: "x", step: 2 }),
        { type: "upload", done: 1, total: 9 },
      ],
      s,
    );
    expect(s).toEqual(copy);
    expect(IDLE_DASHBOARD.metrics).toEqual([]);
  });

  it("says what the controls show", () => {
    expect(dashboardView(IDLE_DASHBOARD, 200)).toMatchObject({
      canStart: true,
      canPause: false,
      canStop: false,
      status: "No run started yet.",
      progress: { value: 0, max: 200 },
      error: null,
    });
    const decoding = fold([
      { type: "starting", run: "r" },
      { type: "upload", done: 30, total: 90 },
    ]);
    expect(dashboardView(decoding, 200)).toMatchObject({
      canStart: false,
      status: "r: decoding the video (30 of 90 frames)",
      progress: { value: 30, max: 90 },
    });
    const running = fold(
      [
        event({
          type: "ready",
          config: config("r", { steps: 40 }),
          parameters: 1,
          episodes: 1,
          frames: 1,
          notes: [],
          continued: false,
        }),
        event({ type: "state", state: "running", step: 12 }),
      ],
      decoding,
    );
    expect(dashboardView(running, 200)).toMatchObject({
      canPause: true,
      canResume: false,
      canStop: true,
      status: "r: running, step 12 of 40",
      progress: { value: 12, max: 40 },
    });
    const paused = reduceDashboard(running, event({ type: "state", state: "paused", step: 12 }));
    expect(dashboardView(paused, 200)).toMatchObject({
      canPause: false,
      canResume: true,
      canStop: true,
      canStart: false,
    });
    const failed = reduceDashboard(paused, {
      type: "ended",
      error: { code: "TRAIN_DATA_MISSING", type: "dataset", message: "no data", recoverable: true },
    });
    expect(dashboardView(failed, 200)).toMatchObject({
      canStart: true,
      error: "The run could not go on: error[TRAIN_DATA_MISSING]: no data",
    });
    const chatty = fold(
      Array.from({ length: 8 }, (_, i) =>
        event({ type: "message", level: i === 7 ? "warning" : "info", code: "M", text: `m${i}`, step: 0 }),
      ),
    );
    expect(dashboardView(chatty, 1).messages).toEqual(["m2", "m3", "m4", "m5", "m6", "Warning: m7"]);
  });

  it("asks for a continued run's history and for the stored runs when they change", () => {
    expect(
      dashboardFollowUp(
        event({
          type: "ready",
          config: config("old"),
          parameters: 1,
          episodes: 1,
          frames: 1,
          notes: [],
          continued: true,
        }),
      ),
    ).toEqual({ history: "old", refreshRuns: false });
    expect(
      dashboardFollowUp(
        event({
          type: "ready",
          config: config("new"),
          parameters: 1,
          episodes: 1,
          frames: 1,
          notes: [],
          continued: false,
        }),
      ),
    ).toEqual({ history: null, refreshRuns: false });
    expect(
      dashboardFollowUp(event({ type: "checkpoint", step: 3, id: "c", bytes: 1, ms: 1, pruned: [] })).refreshRuns,
    ).toBe(true);
    expect(dashboardFollowUp({ type: "ended", error: null }).refreshRuns).toBe(true);
    expect(dashboardFollowUp(event(metrics(1))).refreshRuns).toBe(false);
  });
});

describe("the dashboard's form and stored runs", () => {
  it("turns the form into a session config, and refuses what cannot start", () => {
    expect(sessionConfigFromForm(FORM)).toEqual({
      run: "my-run",
      model: "dit",
      preset: "realtime",
      data: { kind: "game", seed: 7, episodes: 2, frames: 48 },
      steps: 200,
      batchSize: 2,
      lr: 3e-4,
      warmupSteps: 20,
      seed: 0,
      clipLength: 3,
      checkpointEvery: 25,
      keep: 3,
      previewEvery: 25,
      previewFrames: 4,
      init: { kind: "shipped" },
      vae: { kind: "seeded" },
    });
    expect(sessionConfigFromForm({ ...FORM, steps: 5000 }).warmupSteps).toBe(100);
    expect(sessionConfigFromForm({ ...FORM, source: "stored", dataset: "mine" }).data).toEqual({
      kind: "stored",
      name: "mine",
    });
    expect(startProblem(FORM)).toBeNull();
    expect(startProblem({ ...FORM, run: "  " })).toMatch(/name/);
    expect(startProblem({ ...FORM, source: "stored" })).toMatch(/no stored dataset/);
    expect(startProblem({ ...FORM, source: "upload", video: new Blob(["v"]) })).toMatch(/video and its action log/);
  });

  it("sends an upload's files with their names", () => {
    const video = new File(["v"], "clip.mp4");
    const actions = new File(["[]"], "clip.json");
    const form = { ...FORM, source: "upload" as const, video, actions };
    expect(sessionConfigFromForm(form).data).toEqual({ kind: "upload", name: "clip.mp4", frames: 0 });
    expect(uploadFromForm(form)).toEqual({ video, videoName: "clip.mp4", actions, actionsName: "clip.json" });
    expect(uploadFromForm(FORM)).toBeNull();
  });

  it("names new and restored runs, lists playable runs and start options", () => {
    const runs = [
      run("run-1", 4, config("run-1")),
      run("run-2", null),
      run("v", 9, config("v", { model: "vae" })),
      run("cli", 12),
      run("run-1-from-4", 4, config("run-1-from-4", { data: { kind: "stored", name: "d" } })),
    ];
    expect(freshRunName(runs)).toBe("run-3");
    expect(freshRunName([])).toBe("run-1");
    expect(branchRunName("run-1", 4, runs)).toBe("run-1-from-4-2");
    expect(branchRunName("run-1", 8, runs)).toBe("run-1-from-8");
    expect(playableRuns(runs)).toEqual([
      { run: "run-1", step: 4, trainedOn: "built-in game episodes" },
      { run: "cli", step: 12, trainedOn: null },
      { run: "run-1-from-4", step: 4, trainedOn: "dataset “d”" },
    ]);
    const withShipped = startOptions(runs, true);
    expect([...withShipped.init.keys()]).toEqual([
      "shipped weights (pretrained realtime model)",
      "seeded initialisation",
      "run-1",
      "v",
      "cli",
      "run-1-from-4",
    ]);
    expect([...withShipped.vae.values()]).toEqual([
      { kind: "shipped" },
      { kind: "seeded" },
      { kind: "run", run: "v" },
      { kind: "run", run: "cli" },
    ]);
    expect([...startOptions(runs, false).init.keys()][0]).toBe("seeded initialisation");
  });
});

describe("the dashboard on a worker", () => {
  it("fetches a continued run's history, re-reads runs on a checkpoint, and refuses a bad start without the worker", async () => {
    const w = fakeWorker();
    const client = new TrainWorkerClient(w.port);
    let refreshed = 0;
    const dashboard = new TrainDashboard(client, () => refreshed++);
    const seen: DashboardState[] = [];
    dashboard.subscribe((s) => seen.push(s));

    expect(dashboard.start({ ...FORM, run: "" })).toBe(false);
    expect(dashboard.state.error?.message).toMatch(/name/);
    expect(w.sent).toEqual([]);

    expect(dashboard.start({ ...FORM, run: "old" })).toBe(true);
    expect(w.sent[0]).toMatchObject({ type: "start", config: { run: "old" }, upload: null });
    expect(dashboard.state).toMatchObject({ state: "starting", run: "old", error: null });

    w.emit({
      type: "event",
      event: {
        type: "ready",
        config: config("old"),
        parameters: 1,
        episodes: 1,
        frames: 1,
        notes: [],
        continued: true,
      },
    });
    expect(w.sent[1]).toEqual({ type: "request", id: 1, request: { type: "history", runs: ["old"] } });
    w.emit({ type: "event", event: metrics(11) });
    w.emit({
      type: "reply",
      id: 1,
      result: [{ run: "old", metrics: [{ step: 10, loss: 1, gradNorm: 1, lr: 1, stepMs: 1 }] }],
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(dashboard.state.metrics.map((m) => m.step)).toEqual([10, 11]);

    w.emit({ type: "event", event: { type: "checkpoint", step: 11, id: "c", bytes: 1, ms: 1, pruned: [] } });
    expect(refreshed).toBe(1);
    expect(seen.length).toBeGreaterThan(4);
    dashboard.dispose();
    w.emit({ type: "event", event: metrics(12) });
    expect(dashboard.state.step).toBe(11);
  });
});
