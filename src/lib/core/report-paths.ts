/**
 * Paths in committed reports (eval.json, report.json, benchmark results) are written relative to
 * the repository, never as the absolute location on the machine that made them: such a path does
 * not work in anyone else's clone and tells readers how that machine is laid out.
 *
 * `reportPath` turns one path into its report form; `relativizeReport` rewrites every string of a
 * report (model sources such as "/repo/weights/realtime/dit/model.json", a command line) before it
 * is written; `absolutePathsIn` finds what is left, for the test that scans committed reports.
 * Host-independent: the caller passes the repository root (in Node, `process.cwd()`).
 */

/** Absolute paths as they appear inside text: POSIX under a usual root, Windows drives, file URLs. */
const ABSOLUTE_PATH =
  /(?<![\w.~-])\/(?:home|Users|root|tmp|work|var|opt|mnt|srv|usr|private|data|builds|runner|github|workspace|media|Volumes)\/[^\s"'`,;)\]}]*|\b[A-Za-z]:\\[^\s"'`,;)\]}]*|file:\/\/[^\s"'`,;)\]}]*/g;

function trimSlashes(path: string): string {
  return path.replace(/\\/g, "/").replace(/\/+$/, "");
}

/** The last segment of a path ("runs/data" for nothing; "data" for "/tmp/x/data"). */
function lastSegment(path: string): string {
  const parts = trimSlashes(path).split("/").filter(Boolean);
  return parts[parts.length - 1] ?? ".";
}

/**
 * `path` as a report records it: relative to `root` (POSIX separators, "." for the root itself)
 * when it lies inside the repository, else only its last segment (a name, not a location).
 */
export function reportPath(path: string, root: string): string {
  const p = trimSlashes(path);
  const r = trimSlashes(root);
  if (p === r) return ".";
  if (p.startsWith(r + "/")) return p.slice(r.length + 1);
  if (!/^([A-Za-z]:)?\//.test(p) && !p.startsWith("file:")) return p; // already relative
  return lastSegment(p);
}

/** Rewrites every absolute path inside `text` with `reportPath`. */
export function relativizeText(text: string, root: string): string {
  const r = trimSlashes(root);
  // The repository's own prefix first, wherever it sits (including "directory /repo/runs/x").
  const escaped = r.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const inside = text.replace(new RegExp(`${escaped}(/|(?![\\w.-]))`, "g"), (_, slash: string) => (slash ? "" : "."));
  return inside.replace(ABSOLUTE_PATH, (match) => lastSegment(match));
}

/** A deep copy of `value` with every string passed through `relativizeText` (keys are kept). */
export function relativizeReport<T>(value: T, root: string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return relativizeText(v, root);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** Absolute paths found in `text` (with `root` itself counted wherever it appears). */
export function absolutePathsIn(text: string, root?: string): string[] {
  const found = [...text.matchAll(ABSOLUTE_PATH)].map((m) => m[0]);
  if (root && trimSlashes(root).length > 1 && text.includes(trimSlashes(root))) found.push(trimSlashes(root));
  return [...new Set(found)];
}
