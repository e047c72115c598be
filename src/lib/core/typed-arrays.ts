/** Joining typed arrays end to end (frames into clips, latents into windows, shards into files). */

/** One Float32Array holding `parts` one after another. */
export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  copyInto(out, parts);
  return out;
}

/** One Uint8Array holding `parts` (bytes, clamped or not) one after another. */
export function concatBytes(parts: readonly (Uint8Array | Uint8ClampedArray)[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  copyInto(out, parts);
  return out;
}

function copyInto<T extends Float32Array | Uint8Array>(out: T, parts: readonly ArrayLike<number>[]): void {
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
}
