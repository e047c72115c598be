/**
 * Named tensors <-> flat bytes in TensorFlow.js's weights layout (row-major, little-endian, tensors
 * back to back, described by `tf.io.WeightsManifestEntry` specs), so checkpoints and tfjs exports
 * share one encoder and `tf.io.decodeWeights` reads both.
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedTensors } from "../nn/index.js";

export type TensorSpec = tf.io.WeightsManifestEntry;

/** Bytes per element of the dtypes gamedream stores. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

export interface EncodedTensors {
  /** One spec per tensor, in input order. */
  specs: TensorSpec[];
  /** All tensors' bytes, concatenated in spec order. */
  data: Uint8Array;
}

/** Stored bytes per element of quantized weights (tfjs converter exports may use them). */
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Byte length of one tensor described by `spec`; throws for dtypes gamedream cannot read. */
export function specByteLength(spec: TensorSpec): number {
  const bytes = spec.quantization ? QUANTIZED_BYTES[spec.quantization.dtype] : DTYPE_BYTES[spec.dtype];
  if (bytes === undefined)
    throw new Error(`tensor "${spec.name}" has unsupported dtype ${spec.quantization?.dtype ?? spec.dtype}`);
  return spec.shape.reduce((a, b) => a * b, 1) * bytes;
}

/**
 * Reads tensors' values (asynchronously, so a GPU backend is not stalled) into one buffer. Names
 * must be unique; dtypes float32, int32 or bool. The input tensors are not disposed.
 */
export async function encodeTensors(entries: Iterable<[string, tf.Tensor]>): Promise<EncodedTensors> {
  const list: { name: string; tensor: tf.Tensor }[] = [];
  const seen = new Set<string>();
  for (const [name, tensor] of entries) {
    if (seen.has(name)) throw new Error(`tensor name "${name}" appears twice`);
    if (DTYPE_BYTES[tensor.dtype] === undefined)
      throw new Error(`tensor "${name}" has unsupported dtype ${tensor.dtype}`);
    seen.add(name);
    list.push({ name, tensor });
  }
  // The array form keeps the order: object keys that look like integers would be reordered.
  const { data, specs } = await tf.io.encodeWeights(list);
  return { specs, data: new Uint8Array(data) };
}

/** Cuts `data` into shards of at most `shardBytes` (at least one shard, possibly empty). */
export function splitShards(data: Uint8Array, shardBytes: number): Uint8Array[] {
  if (!(shardBytes > 0)) throw new Error(`shard size must be positive, got ${shardBytes}`);
  const shards: Uint8Array[] = [];
  for (let start = 0; start < data.length; start += shardBytes) shards.push(data.subarray(start, start + shardBytes));
  return shards.length > 0 ? shards : [new Uint8Array(0)];
}

/**
 * New tensors from shards holding the concatenated bytes of `specs`, in spec order. The caller
 * owns (and disposes) the result. Throws when the bytes do not match the specs' total length.
 */
export function decodeTensors(shards: Uint8Array[], specs: TensorSpec[]): NamedTensors {
  const expected = specs.reduce((n, s) => n + specByteLength(s), 0);
  const actual = shards.reduce((n, s) => n + s.byteLength, 0);
  if (expected !== actual) throw new Error(`weights hold ${actual} bytes but their manifest describes ${expected}`);
  const buffers = shards.map((s) =>
    s.byteOffset === 0 && s.byteLength === s.buffer.byteLength
      ? (s.buffer as ArrayBuffer)
      : (s.slice().buffer as ArrayBuffer),
  );
  const decoded = tf.io.decodeWeights(buffers, specs);
  return new Map(specs.map((s) => [s.name, decoded[s.name]]));
}
