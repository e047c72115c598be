/**
 * The safetensors format (huggingface/safetensors), so weights move to and from PyTorch:
 *   [8 bytes: header length N, little-endian u64][N bytes: JSON header, space-padded][tensor data]
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets into
 * the data after the header) and may hold `__metadata__`, a string-to-string map.
 *
 * Names are written as `variables()` gives them (PyTorch-style); layouts are not transposed, so a
 * PyTorch module reading them must use the same per-weight layout as the gamedream module.
 * Typed arrays are read and written in host byte order, which is little-endian on every platform
 * tfjs runs on.
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "../core/index.js";
import type { NamedTensors } from "../nn/index.js";

export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsHeader {
  /** In data order. */
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the tensor data in the file (8 + header length). */
  dataStart: number;
}

const ITEM_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const TO_SAFETENSORS: Record<string, SafetensorsDtype> = { float32: "F32", int32: "I32", bool: "BOOL" };
/** Headers are small (names and shapes); a larger length means a damaged or foreign file. */
const MAX_HEADER_BYTES = 100_000_000;

function formatError(message: string, details?: Record<string, unknown>): GamedreamError {
  return new GamedreamError("WEIGHTS_FORMAT", "storage", `This is not a readable safetensors file: ${message}.`, {
    details,
  });
}

/**
 * Serialises tensors (float32 -> F32, int32 -> I32, bool -> BOOL) in map order. The tensors are
 * read, not disposed.
 */
export async function encodeSafetensors(
  tensors: ReadonlyMap<string, tf.Tensor>,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const dtype = TO_SAFETENSORS[tensor.dtype];
    if (name === "__metadata__" || dtype === undefined) {
      throw new GamedreamError(
        "WEIGHTS_FORMAT",
        "storage",
        `Cannot write tensor "${name}" (${tensor.dtype}) to safetensors.`,
        { details: { name } },
      );
    }
    const values = await tensor.data();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces to a multiple of 8 bytes, as the reference writer does, so data is aligned.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Parses and validates the header without touching tensor data. */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (bytes.byteLength < 8) throw formatError("it is shorter than the 8-byte header length");
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8)))
    throw formatError(`its header length (${n}) does not fit the file`);
  const dataStart = 8 + Number(n);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    throw formatError(`its header is not JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw formatError("its header is not a JSON object");
  const dataBytes = bytes.byteLength - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Object.values(value).some((v) => typeof v !== "string")) {
        throw formatError("__metadata__ must map strings to strings");
      }
      metadata = { ...(value as Record<string, string>) };
      continue;
    }
    const entry = value as Partial<SafetensorsEntry>;
    const itemBytes = ITEM_BYTES[entry?.dtype as SafetensorsDtype];
    if (itemBytes === undefined)
      throw formatError(`tensor "${name}" has unsupported dtype ${JSON.stringify(entry?.dtype)}`, { name });
    const shape = entry.shape;
    const offsets = entry.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw formatError(`tensor "${name}" has an invalid shape`, { name });
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isInteger))
      throw formatError(`tensor "${name}" has invalid data_offsets`, { name });
    const [begin, end] = offsets;
    const expected = shape.reduce((a, b) => a * b, 1) * itemBytes;
    if (begin < 0 || end < begin || end > dataBytes || end - begin !== expected) {
      throw formatError(`tensor "${name}" claims bytes [${begin}, ${end}) but needs ${expected} within ${dataBytes}`, {
        name,
      });
    }
    tensors.set(name, { dtype: entry.dtype as SafetensorsDtype, shape: [...shape], data_offsets: [begin, end] });
  }
  // JSON objects put integer-like keys first; data order is the order the writer used.
  const ordered = [...tensors].sort(
    ([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1],
  );
  return { tensors: new Map(ordered), metadata, dataStart };
}

/** IEEE half -> float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Values of one entry as a tfjs-ready typed array: floats widen or narrow to float32, integers to int32. */
function entryValues(name: string, entry: SafetensorsEntry, raw: ArrayBuffer): Float32Array | Int32Array | Uint8Array {
  switch (entry.dtype) {
    case "F32":
      return new Float32Array(raw);
    case "F64":
      return Float32Array.from(new Float64Array(raw));
    case "F16":
      return Float32Array.from(new Uint16Array(raw), halfToFloat);
    case "BF16": {
      // bfloat16 is the top half of a float32.
      const wide = new Uint32Array(raw.byteLength / 2);
      new Uint16Array(raw).forEach((v, i) => (wide[i] = v << 16));
      return new Float32Array(wide.buffer);
    }
    case "I32":
      return new Int32Array(raw);
    case "I16":
      return Int32Array.from(new Int16Array(raw));
    case "I8":
      return Int32Array.from(new Int8Array(raw));
    case "U8":
      return Int32Array.from(new Uint8Array(raw));
    case "I64": {
      const wide = new BigInt64Array(raw);
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        if (wide[i] > 2147483647n || wide[i] < -2147483648n)
          throw formatError(`tensor "${name}" holds int64 values beyond int32`, { name });
        out[i] = Number(wide[i]);
      }
      return out;
    }
    case "BOOL":
      return new Uint8Array(raw);
  }
}

/**
 * Tensors (in header order) and metadata of a safetensors file. F32/I32/BOOL load exactly;
 * F16/BF16/F64 load as float32 and the integer types as int32. The caller owns the tensors.
 */
export function decodeSafetensors(bytes: Uint8Array): { tensors: NamedTensors; metadata: Record<string, string> } {
  const header = readSafetensorsHeader(bytes);
  const values = new Map<string, { entry: SafetensorsEntry; data: Float32Array | Int32Array | Uint8Array }>();
  for (const [name, entry] of header.tensors) {
    const [begin, end] = entry.data_offsets;
    // slice() copies into a fresh, aligned buffer: data offsets need not be multiples of 4.
    const raw = bytes.slice(header.dataStart + begin, header.dataStart + end).buffer;
    values.set(name, { entry, data: entryValues(name, entry, raw) });
  }
  // Every value is converted before any tensor exists, so a bad entry leaks nothing.
  const tensors: NamedTensors = new Map();
  for (const [name, { entry, data }] of values) {
    const dtype = entry.dtype === "BOOL" ? "bool" : data instanceof Float32Array ? "float32" : "int32";
    tensors.set(name, tf.tensor(data, entry.shape, dtype));
  }
  return { tensors, metadata: header.metadata };
}
