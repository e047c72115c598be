/**
 * Semantic versions of what gamedream writes. A reader accepts any file whose major version equals
 * its own: minor versions only add fields, which older readers ignore.
 */
import { GamedreamError } from "../core/index.js";

/** The app version stamped into checkpoints and exports; a unit test keeps it equal to package.json. */
export const APP_VERSION = "0.1.0";

/** Version of the checkpoint and weights-export layout written by this code. */
export const FORMAT_VERSION = "1.0.0";

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

export function parseSemVer(version: string): SemVer | null {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : null;
}

/** True when a reader at `FORMAT_VERSION` can read data written at `version`. */
export function isFormatCompatible(version: string, reader: string = FORMAT_VERSION): boolean {
  const a = parseSemVer(version);
  const b = parseSemVer(reader);
  return a !== null && b !== null && a.major === b.major;
}

/** Throws `INCOMPATIBLE_VERSION` when `version` cannot be read by this code. */
export function assertFormatCompatible(version: unknown, what: string): void {
  if (typeof version === "string" && isFormatCompatible(version)) return;
  throw new GamedreamError(
    "INCOMPATIBLE_VERSION",
    "storage",
    `${what} was written in format version ${JSON.stringify(version)}, which this gamedream ` +
      `(${APP_VERSION}, format ${FORMAT_VERSION}) cannot read. Open it with a gamedream of the same major format version.`,
    { recoverable: false, details: { formatVersion: version, supported: FORMAT_VERSION } },
  );
}
