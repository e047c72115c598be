/**
 * RGB(A) frames of any size -> 256x256 RGB, as plain typed-array code shared by both hosts (copying
 * a decoded frame out and resizing it in code beat canvas drawing + readback in Chromium here).
 *
 * Fit modes (a video of another shape is letterboxed or centre-cropped, the user's choice):
 * - `letterbox`: the whole picture, scaled to fit, centred on black bars (black = -1 after
 *   normalising). Nothing is lost; a 16:9 game uses 256x144 of the 256x256.
 * - `crop`: scaled to cover the square, centred, the overflow cut off (16:9 loses 44% of the width).
 *
 * Filtering is separable and antialiased (a triangle filter whose support grows with the
 * downscale factor, as Pillow's bilinear resize), so thin HUD lines and text do not alias away.
 */
import { FRAME_SIZE } from "../core/index.js";

export type Fit = "letterbox" | "crop";

/** Where the whole source picture lands in output pixels (may overhang the output in `crop`). */
export interface FitRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function fitRect(
  srcW: number,
  srcH: number,
  fit: Fit,
  outW: number = FRAME_SIZE,
  outH: number = FRAME_SIZE,
): FitRect {
  if (fit === "letterbox") {
    const s = Math.min(outW / srcW, outH / srcH);
    // Whole pixels, so bars and picture never share a blended edge pixel.
    const w = Math.min(outW, Math.max(1, Math.round(srcW * s)));
    const h = Math.min(outH, Math.max(1, Math.round(srcH * s)));
    return { x: Math.floor((outW - w) / 2), y: Math.floor((outH - h) / 2), w, h };
  }
  const s = Math.max(outW / srcW, outH / srcH);
  const w = srcW * s;
  const h = srcH * s;
  return { x: (outW - w) / 2, y: (outH - h) / 2, w, h };
}

/** Taps of a 1D resampling: output o reads `index[o*taps + k]` with `weight[o*taps + k]`. */
interface Taps {
  taps: number;
  index: Int32Array;
  weight: Float32Array;
  /** Output positions that the picture covers; the rest are bars. */
  first: number;
  end: number;
}

function buildTaps(srcLen: number, outLen: number, offset: number, scaledLen: number): Taps {
  const scale = srcLen / scaledLen; // source pixels per output pixel
  const support = Math.max(1, scale);
  const first = Math.max(0, Math.ceil(offset - 1e-9));
  const end = Math.min(outLen, Math.floor(offset + scaledLen + 1e-9));
  // Source pixels j with a non-zero triangle weight: |j + 0.5 - centre| < support.
  const range = (o: number): [number, number, number] => {
    const centre = (o + 0.5 - offset) * scale;
    return [centre, Math.floor(centre - support - 0.5) + 1, Math.ceil(centre + support - 0.5) - 1];
  };
  let taps = 1;
  for (let o = first; o < end; o++) {
    const [, lo, hi] = range(o);
    taps = Math.max(taps, hi - lo + 1);
  }
  const index = new Int32Array(outLen * taps);
  const weight = new Float32Array(outLen * taps);
  for (let o = first; o < end; o++) {
    const [centre, lo] = range(o);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const j = lo + k;
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / support));
      // Edge pixels repeat past the border, so the outermost outputs keep full weight.
      index[o * taps + k] = Math.min(srcLen - 1, Math.max(0, j));
      weight[o * taps + k] = w;
      sum += w;
    }
    for (let k = 0; k < taps; k++) weight[o * taps + k] /= sum;
  }
  return { taps, index, weight, first, end };
}

export interface ResizerOptions {
  srcWidth: number;
  srcHeight: number;
  /** 3 (RGB, from ffmpeg) or 4 (RGBA, from WebCodecs / canvas); alpha is ignored. */
  channels: 3 | 4;
  /** Bytes per source row; defaults to `srcWidth * channels`. */
  stride?: number;
  fit: Fit;
  size?: number;
}

/** A reusable resizer for one source geometry: the filter taps are computed once. */
export interface Resizer {
  readonly rect: FitRect;
  /** Writes `size*size*3` RGB bytes into `out` (allocated when omitted) and returns it. */
  resize(src: Uint8Array | Uint8ClampedArray, out?: Uint8Array): Uint8Array;
}

export function createResizer(options: ResizerOptions): Resizer {
  const { srcWidth: sw, srcHeight: sh, channels: ch, fit } = options;
  const size = options.size ?? FRAME_SIZE;
  const stride = options.stride ?? sw * ch;
  const rect = fitRect(sw, sh, fit, size, size);
  const hx = buildTaps(sw, size, rect.x, rect.w);
  const vy = buildTaps(sh, size, rect.y, rect.h);
  const cols = hx.end - hx.first;
  // Source rows the vertical pass reads, filtered horizontally once each.
  let rowLo = sh;
  let rowHi = -1;
  for (let o = vy.first; o < vy.end; o++) {
    for (let k = 0; k < vy.taps; k++) {
      if (vy.weight[o * vy.taps + k] === 0) continue;
      rowLo = Math.min(rowLo, vy.index[o * vy.taps + k]);
      rowHi = Math.max(rowHi, vy.index[o * vy.taps + k]);
    }
  }
  const rows = Math.max(0, rowHi - rowLo + 1);
  const tmp = new Float32Array(rows * cols * 3);
  const acc = new Float32Array(cols * 3);
  // Byte offsets of each horizontal tap, so the inner loop is a plain multiply-add.
  const hOff = new Int32Array(hx.index.length);
  for (let i = 0; i < hx.index.length; i++) hOff[i] = hx.index[i] * ch;

  // Plain locals keep the hot loops free of property loads.
  const hFirst = hx.first;
  const hEnd = hx.end;
  const ht = hx.taps;
  const hw = hx.weight;
  const vFirst = vy.first;
  const vEnd = vy.end;
  const vt = vy.taps;
  const vw = vy.weight;
  const vi = vy.index;
  const rowBytes = cols * 3;

  return {
    rect,
    resize(src, out = new Uint8Array(size * size * 3)) {
      out.fill(0);
      for (let r = 0; r < rows; r++) {
        const rowStart = (rowLo + r) * stride;
        let t = r * rowBytes;
        for (let o = hFirst; o < hEnd; o++) {
          let a = 0;
          let b = 0;
          let c = 0;
          const base = o * ht;
          for (let k = 0; k < ht; k++) {
            const w = hw[base + k];
            const p = rowStart + hOff[base + k];
            a += w * src[p];
            b += w * src[p + 1];
            c += w * src[p + 2];
          }
          tmp[t++] = a;
          tmp[t++] = b;
          tmp[t++] = c;
        }
      }
      for (let o = vFirst; o < vEnd; o++) {
        const base = o * vt;
        const q = (o * size + hFirst) * 3;
        acc.fill(0);
        for (let k = 0; k < vt; k++) {
          const w = vw[base + k];
          if (w === 0) continue;
          const row = (vi[base + k] - rowLo) * rowBytes;
          for (let x = 0; x < rowBytes; x++) acc[x] += w * tmp[row + x];
        }
        for (let x = 0; x < rowBytes; x++) {
          const v = acc[x];
          out[q + x] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
        }
      }
      return out;
    },
  };
}
