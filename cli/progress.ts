/**
 * Terminal progress for the CLIs: a bar redrawn in place on a TTY (at most ~10 times a second),
 * plain milestone lines (every 10%) when the stream is a file or a pipe, and helpers for the
 * one-line summary every command prints at the end. Writes to stderr by default so stdout stays
 * clean for data. No dependencies.
 *
 *   const bar = createProgress({ total: frames, label: "frames" });
 *   bar.tick();                     // or bar.update(done, "episode 2/4")
 *   bar.done();
 *   console.log(summaryLine("dataset", { episodes: 4, frames: 256, size: formatBytes(n) }));
 */

/** The part of a stream this module needs (process.stderr fits; tests pass a fake). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total: number;
  /** Unit shown after the counts, e.g. "frames". */
  label?: string;
  stream?: ProgressStream;
  /** Force the TTY (redrawing) or plain (milestones) style. */
  tty?: boolean;
  /** Clock in ms, for tests. */
  now?: () => number;
}

export interface Progress {
  /** Advances by `n` (default 1); `note` replaces the text after the bar. */
  tick(n?: number, note?: string): void;
  /** Sets the absolute count. */
  update(done: number, note?: string): void;
  /** Draws the final state and ends the line. Idempotent. */
  done(note?: string): void;
}

const REDRAW_MS = 100;

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const now = options.now ?? (() => performance.now());
  const total = Math.max(0, options.total);
  const label = options.label ?? "";
  const started = now();
  let count = 0;
  let note = "";
  let lastDraw = -Infinity;
  let lastMilestone = -1;
  let finished = false;

  const line = (): string => {
    const elapsed = (now() - started) / 1000;
    const frac = total > 0 ? Math.min(1, count / total) : 1;
    const rate = elapsed > 0 ? count / elapsed : 0;
    const eta = rate > 0 && count < total ? (total - count) / rate : 0;
    const counts = `${count}/${total}${label ? ` ${label}` : ""}`;
    const stats = `${(frac * 100).toFixed(0).padStart(3)}% ${counts} ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s ${count < total ? `eta ${formatDuration(eta)}` : formatDuration(elapsed)}`;
    const tail = note ? ` ${note}` : "";
    if (!tty) return `${stats}${tail}`;
    const columns = stream.columns ?? 80;
    const width = Math.max(10, Math.min(40, columns - stats.length - tail.length - 4));
    const filled = Math.round(frac * width);
    const text = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${stats}${tail}`;
    return text.length > columns - 1 ? text.slice(0, columns - 1) : text;
  };

  const draw = (force: boolean) => {
    if (tty) {
      const t = now();
      if (!force && t - lastDraw < REDRAW_MS) return;
      lastDraw = t;
      stream.write(`\r\x1b[2K${line()}`);
      return;
    }
    const milestone = total > 0 ? Math.floor((Math.min(count, total) / total) * 10) : 10;
    if (force || milestone > lastMilestone) {
      lastMilestone = milestone;
      stream.write(`${line()}\n`);
    }
  };

  const update = (done: number, text?: string) => {
    if (finished) return;
    count = Math.max(0, done);
    if (text !== undefined) note = text;
    draw(false);
  };

  return {
    tick: (n = 1, text) => update(count + n, text),
    update,
    done: (text) => {
      if (finished) return;
      if (text !== undefined) note = text;
      if (tty) {
        draw(true);
        stream.write("\n");
      } else if (lastMilestone < 10 || text !== undefined) {
        draw(true);
      }
      finished = true;
    },
  };
}

/** `1.2 KB`, `48.0 MB` (decimal units, as disks count). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** `0.4s`, `12s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds - m * 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** The one-line summary a command ends with: `dataset: episodes=4 frames=256 size=50.3 MB`. */
export function summaryLine(command: string, fields: Record<string, string | number | boolean>): string {
  const parts = Object.entries(fields).map(
    ([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : v}`,
  );
  return `${command}: ${parts.join(" ")}`;
}
