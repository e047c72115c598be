/**
 * Resampling any frame rate to a fixed one (30 fps) by timestamp, as pure functions.
 *
 * Output frame i shows what a player would display at the centre of its interval,
 * `t_i = t_0 + (i + 0.5) / fps`, where t_0 is the first source frame's timestamp: the source frame
 * j with `s_j <= t_i < s_(j+1)`. Sampling at centres rather than at `i / fps` matters because
 * WebM rounds timestamps to the millisecond: sampling a 30 fps WebM at `i / 30` returned 60
 * distinct frames of 90 in the team's decoding probes. A centre that falls exactly on a source frame's start
 * (60 fps input, every other frame; 24 fps input, every fifth output) takes that frame.
 * `TIE_EPSILON_S` is 1 ms so that rule survives WebM's millisecond rounding: a 24 fps frame due at
 * 416.67 ms is stored at 417 ms and must still count as starting on the 416.67 ms centre.
 */
export const TARGET_FPS = 30;

/** Timestamps closer than this (seconds) count as equal (WebM stores milliseconds). */
export const TIE_EPSILON_S = 1e-3;

/** Number of output frames whose centres fall inside a span of `durationS` seconds. */
export function outputFrameCount(durationS: number, fps: number = TARGET_FPS): number {
  if (!(durationS > 0)) return 0;
  return Math.max(0, Math.ceil(durationS * fps - 0.5 - TIE_EPSILON_S * fps));
}

/**
 * Streaming form for decoders that deliver source frames one at a time in presentation order:
 * keep the latest frame, call `next(timestamp)` when the following one arrives, and emit the kept
 * frame as many times as it returns (0 drops it: 60 fps input; 2 repeats it: 24 fps input).
 */
export class FrameCentreResampler {
  private origin: number | null = null;
  private last = -Infinity;
  private produced = 0;

  constructor(readonly fps: number = TARGET_FPS) {}

  /** Output frames emitted so far. */
  get emitted(): number {
    return this.produced;
  }

  private centre(i: number): number {
    return (this.origin as number) + (i + 0.5) / this.fps;
  }

  /** Takes the start time of the next source frame; returns how many outputs the previous one fills. */
  next(timestampS: number): number {
    if (this.origin === null) {
      this.origin = timestampS;
      this.last = timestampS;
      return 0;
    }
    // Out-of-order timestamps would mean a broken stream; the earlier frame keeps its slots.
    if (timestampS < this.last) return 0;
    this.last = timestampS;
    return this.fill(timestampS);
  }

  /** Ends the stream at `endS` (last frame's end); returns how many outputs the last frame fills. */
  end(endS: number): number {
    if (this.origin === null) return 0;
    const total = outputFrameCount(endS - this.origin, this.fps);
    const n = Math.max(0, total - this.produced);
    this.produced += n;
    return n;
  }

  private fill(untilS: number): number {
    let n = 0;
    while (this.centre(this.produced) < untilS - TIE_EPSILON_S) {
      this.produced++;
      n++;
    }
    return n;
  }
}

/**
 * Whole-clip form: for source frame start times (presentation order) and the end of the last
 * frame, the source index shown by each output frame.
 */
export function mapFrameCentres(
  sourceTimestampsS: readonly number[],
  endS: number,
  fps: number = TARGET_FPS,
): Int32Array {
  const r = new FrameCentreResampler(fps);
  const out: number[] = [];
  sourceTimestampsS.forEach((t, j) => {
    const n = r.next(t);
    for (let k = 0; k < n; k++) out.push(j - 1);
  });
  const n = r.end(endS);
  for (let k = 0; k < n; k++) out.push(sourceTimestampsS.length - 1);
  return Int32Array.from(out);
}
