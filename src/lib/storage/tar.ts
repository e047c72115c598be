/**
 * Several files in one: a plain POSIX (ustar) tar archive, written and read in memory. Exports of
 * runs and datasets use it where the browser can only save one file (the download fallback), and
 * the site ships its weights in one, so any tar tool opens them and no compression library is
 * needed (weights and frames barely compress).
 */
import { GamedreamError } from "../core/index.js";

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  header.set(bytes, offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  writeString(header, offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

/** Splits a path into ustar's prefix (155 bytes) and name (100 bytes) fields. */
function splitPath(path: string): [string, string] {
  if (encoder.encode(path).length <= 100) return ["", path];
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100) return [prefix, name];
  }
  throw new Error(`path too long for a tar archive: ${path}`);
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum;
}

/** One archive holding `files` (path -> bytes) in map order, with a fixed `mtime` so output is reproducible. */
export function writeTar(files: ReadonlyMap<string, Uint8Array>, mtime = 0): Uint8Array {
  let total = 2 * BLOCK;
  for (const bytes of files.values()) total += BLOCK + Math.ceil(bytes.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const [path, bytes] of files) {
    if (!path || path.startsWith("/") || path.split("/").includes("..")) throw new Error(`unsafe tar path: ${path}`);
    const header = out.subarray(offset, offset + BLOCK);
    const [prefix, name] = splitPath(path);
    writeString(header, 0, 100, name);
    writeOctal(header, 100, 8, 0o644);
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, bytes.length);
    writeOctal(header, 136, 12, Math.floor(mtime / 1000));
    header[156] = "0".charCodeAt(0);
    writeString(header, 257, 6, "ustar\0");
    writeString(header, 263, 2, "00");
    writeString(header, 345, 155, prefix);
    writeString(header, 148, 8, checksum(header).toString(8).padStart(6, "0") + "\0 ");
    out.set(bytes, offset + BLOCK);
    offset += BLOCK + Math.ceil(bytes.length / BLOCK) * BLOCK;
  }
  return out;
}

function field(header: Uint8Array, offset: number, length: number): string {
  const bytes = header.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function badArchive(what: string, problem: string): GamedreamError {
  return new GamedreamError("ARCHIVE_CORRUPT", "storage", `${what} is not a readable tar archive: ${problem}.`, {
    recoverable: false,
  });
}

/**
 * The regular files of a tar archive (path -> bytes, views into `bytes`). Header checksums are
 * verified; a damaged or cut-off archive is a typed `ARCHIVE_CORRUPT`.
 */
export function readTar(bytes: Uint8Array, what = "The file"): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return files;
    const recorded = parseInt(field(header, 148, 8).trim(), 8);
    if (recorded !== checksum(header)) throw badArchive(what, `the header at byte ${offset} fails its checksum`);
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = field(header, 345, 155);
    const name = (prefix ? `${prefix}/` : "") + field(header, 0, 100);
    const start = offset + BLOCK;
    if (start + size > bytes.length) throw badArchive(what, `${name} is cut off`);
    if (type === "0") files.set(name, bytes.subarray(start, start + size));
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  // A complete archive ends with zero blocks; running out of bytes first means it was cut off.
  throw badArchive(what, offset === 0 ? "it is empty or too short" : "it is cut off before its end marker");
}
