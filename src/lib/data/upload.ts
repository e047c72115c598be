/**
 * An uploaded video and action log as one episode: the single upload path of the Data page
 * (src/pages/data.md) and the training worker (src/workers/train.ts). The video's 30 fps frames
 * are kept up to `MAX_UPLOAD_FRAMES`, the log is cut to the kept frames and paired with them
 * (video/pairing.ts: a length mismatch beyond one frame is an error).
 *
 * Decoding is the host's: upload.browser.ts `uploadedEpisode` decodes a File with WebCodecs and
 * hands the batches here, so this part runs (and is tested) in Node on made-up batches.
 */
import type { Action } from "../actions/index.js";
import { GamedreamError, RGB_FRAME_BYTES } from "../core/index.js";
import { pairFramesWithActions, type RgbBatch } from "../video/index.js";
import { episodeFromFrames, seedFromId, type EpisodeSource } from "./dataset.js";
import type { Episode } from "./stats.js";

/**
 * Frames an upload keeps at most (30 s at 30 fps). Every kept frame stays in memory as 256x256
 * RGB (192 KB), so an upload holds at most about 177 MB of frames; longer videos are cut, and the
 * episode says so (`cutNote`).
 */
export const MAX_UPLOAD_FRAMES = 900;

/** An upload as the Data page shows it and training reads it (stats.ts `Episode`, frames back to back). */
export interface UploadedEpisode extends Episode {
  /** The video's file name (null: only a log was uploaded). */
  videoName: string | null;
  /** Frames the video holds at 30 fps before the cap (0 without a video). */
  videoFrames: number;
  /** Says in words that the video was cut to the cap; null when nothing was cut. */
  cutNote: string | null;
}

/** What an upload is made of, once decoded and parsed. */
export interface UploadParts {
  /** The decoded video (upload.browser.ts), null when only a log was uploaded. */
  video: { name: string; batches: AsyncIterable<RgbBatch>; frames?: () => number } | null;
  /** The parsed action log (actions/schema.ts `parseActionLog`), null when only a video was uploaded. */
  log: { name: string; actions: Action[] } | null;
}

/**
 * Takes frames from `batches` until `maxFrames`, into one buffer. `complete` is false when the
 * video had more frames than that (the rest are not decoded).
 */
export async function collectFrames(
  batches: AsyncIterable<RgbBatch>,
  maxFrames: number,
): Promise<{ frames: Uint8Array; frameCount: number; complete: boolean }> {
  const parts: Uint8Array[] = [];
  let count = 0;
  let complete = true;
  const it = batches[Symbol.asyncIterator]();
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const take = Math.min(r.value.count, maxFrames - count);
      parts.push(r.value.rgb.subarray(0, take * RGB_FRAME_BYTES));
      count += take;
      if (count >= maxFrames) {
        // At the cap: anything left in this batch, or a next batch (or a failure reading one), is cut.
        complete =
          take === r.value.count &&
          (await it.next().then(
            (n) => n.done === true,
            () => false,
          ));
        break;
      }
    }
  } finally {
    // Stops the decoder when the loop left early (the cap, or an error).
    await it.return?.();
  }
  const frames = parts.length === 1 ? parts[0] : new Uint8Array(count * RGB_FRAME_BYTES);
  if (parts.length !== 1) parts.reduce((offset, p) => (frames.set(p, offset), offset + p.length), 0);
  return { frames, frameCount: count, complete };
}

/**
 * One episode from an upload: the video's first `maxFrames` frames, paired with the log (cut to
 * those frames); a video alone has no actions, a log alone no frames.
 */
export async function episodeFromUpload(
  parts: UploadParts,
  { maxFrames = MAX_UPLOAD_FRAMES } = {},
): Promise<UploadedEpisode> {
  const { video, log } = parts;
  const name = [video?.name, log?.name].filter(Boolean).join(" + ");
  if (!video)
    return {
      name,
      frames: new Uint8Array(0),
      frameCount: 0,
      actions: log?.actions ?? [],
      videoName: null,
      videoFrames: 0,
      cutNote: null,
    };
  const { frames, frameCount, complete } = await collectFrames(video.batches, maxFrames);
  const videoFrames = Math.max(frameCount, video.frames?.() ?? 0);
  const cutNote = complete
    ? null
    : `${video.name} has ${videoFrames > frameCount ? `${videoFrames} frames` : `more than ${frameCount} frames`} at 30 fps; only the first ${frameCount} (${(frameCount / 30).toFixed(0)} s) are used, as every frame is kept in memory.`;
  // The log is cut with the video: entry k belongs to frame k (pairing's default 30 per second).
  const actions = log
    ? pairFramesWithActions(frameCount, complete ? log.actions : log.actions.slice(0, frameCount)).actions
    : [];
  return { name, frames, frameCount, actions, videoName: video.name, videoFrames, cutNote };
}

/** An upload as a training episode (dataset.ts `EpisodeSource`); it needs both the video and its log. */
export function uploadedEpisodeSource(episode: UploadedEpisode): EpisodeSource {
  if (!episode.videoName || !episode.frameCount || episode.actions.length !== episode.frameCount) {
    throw new GamedreamError(
      "UPLOAD_INCOMPLETE",
      "dataset",
      `Training on an upload needs a video and its action log, one action per frame (“${episode.name || "nothing"}” has ${episode.frameCount} frames and ${episode.actions.length} actions).`,
      { recoverable: true },
    );
  }
  const id = episode.videoName;
  const frames = Array.from({ length: episode.frameCount }, (_, t) =>
    episode.frames.subarray(t * RGB_FRAME_BYTES, (t + 1) * RGB_FRAME_BYTES),
  );
  return episodeFromFrames({ id, seed: seedFromId(id), source: "video", name: id }, frames, episode.actions);
}
