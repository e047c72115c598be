// Bitwise comparison of named tensors, for round-trip tests of checkpoints and export formats.
import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";

/** The raw bytes of a tensor's values. */
export async function bits(t: tf.Tensor): Promise<number[]> {
  const d = await t.data();
  return Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
}

/** Same names in the same order, same shapes and dtypes, bitwise equal values. */
export async function expectSameTensors(
  a: ReadonlyMap<string, tf.Tensor>,
  b: ReadonlyMap<string, tf.Tensor>,
): Promise<void> {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.shape, name).toEqual(t.shape);
    expect(u.dtype, name).toBe(t.dtype);
    expect(await bits(u), name).toEqual(await bits(t));
  }
}
