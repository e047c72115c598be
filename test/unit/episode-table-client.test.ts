import { describe, expect, it } from "vitest";
import {
  summarizeEpisodesInWorker,
  type EpisodeTableRequest,
  type EpisodeTableWorker,
} from "../../src/lib/data/index.js";
import { summarizeEpisodes } from "../../src/lib/data/worker.js";

type Listener = (event: { data?: unknown; message?: string }) => void;

/** A worker stand-in that answers with `respond` (or never, when it returns undefined). */
function fakeWorker(
  respond: (
    request: EpisodeTableRequest,
    emit: (type: "message" | "error", event: { data?: unknown; message?: string }) => void,
  ) => void,
) {
  const listeners = { message: new Set<Listener>(), error: new Set<Listener>() };
  const emit = (type: "message" | "error", event: { data?: unknown; message?: string }) =>
    listeners[type].forEach((l) => l(event));
  const worker: EpisodeTableWorker & { listening: () => number } = {
    postMessage: (request) => queueMicrotask(() => respond(request, emit)),
    addEventListener: (type, l) => listeners[type].add(l),
    removeEventListener: (type, l) => listeners[type].delete(l),
    listening: () => listeners.message.size + listeners.error.size,
  };
  return worker;
}

const episodes = [
  {
    name: "x",
    frameCount: 2,
    actions: [
      {
        movement: [1, 0, 0, 0] as [number, number, number, number],
        camera: [0, 0] as [number, number],
        interaction: 0,
      },
    ],
    motion: [0, 0.5],
  },
];

describe("episode table worker client", () => {
  it("gets the rows the worker computes, ignoring answers to other requests", async () => {
    const worker = fakeWorker((req, emit) => {
      emit("message", { data: { id: req.id + 1000, rows: [] } });
      emit("message", { data: { id: req.id, rows: summarizeEpisodes(req.episodes) } });
    });
    const rows = await summarizeEpisodesInWorker(worker, episodes);
    expect(rows.map((r) => [r.name, r.moving, r.meanMotion])).toEqual([["x", 1, 0.5]]);
    expect(worker.listening()).toBe(0);
  });

  it("turns a worker error, a failed start and silence into plain errors", async () => {
    const refusing = fakeWorker((req, emit) =>
      emit("message", { data: { id: req.id, error: { code: "EvalError", message: "policy refuses eval" } } }),
    );
    await expect(summarizeEpisodesInWorker(refusing, episodes)).rejects.toMatchObject({
      code: "EPISODE_TABLE_FAILED",
      message: expect.stringMatching(/could not be computed: policy refuses eval/),
    });
    const broken = fakeWorker((_req, emit) => emit("error", { message: "" }));
    await expect(summarizeEpisodesInWorker(broken, episodes)).rejects.toThrow(/script did not load/);
    const silent = fakeWorker(() => undefined);
    await expect(summarizeEpisodesInWorker(silent, episodes, { timeoutMs: 20 })).rejects.toThrow(/no answer after 0 s/);
    expect(silent.listening()).toBe(0);
  });
});
