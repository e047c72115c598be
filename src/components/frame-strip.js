// A row of video frames drawn on canvases at their native size and scaled up or down by CSS
// with `image-rendering: pixelated`, so a pixel stays a crisp square (no smoothing hides noise or
// compression). Every canvas is an accessible image labelled with its frame index.
import { unitToRgba } from "../lib/core/index.js";
import { injectStyle } from "./style.js";

const STYLE = `
.frame-strip { display: flex; flex-wrap: wrap; gap: 6px; margin: 0.5rem 0; }
.frame-strip figure { margin: 0; display: flex; flex-direction: column; align-items: center; }
.frame-strip canvas { image-rendering: pixelated; image-rendering: crisp-edges; display: block; border: 2px solid transparent; background: #000; }
.frame-strip figure.selected canvas { border-color: var(--theme-foreground-focus, #3b5fc0); }
.frame-strip figcaption { font: 12px var(--sans-serif, system-ui); color: var(--theme-foreground, currentColor); margin-top: 2px; font-variant-numeric: tabular-nums; }
`;

function ensureStyle() {
  injectStyle("frame-strip-style", STYLE);
}

/**
 * Normalises frames to RGBA images `{data: Uint8ClampedArray, width, height}`.
 * Accepts an array of: Uint8Array / Uint8ClampedArray holding RGB (3 bytes per pixel) or RGBA
 * (4) of a `size` x `size` frame, `{data, width, height}` objects (RGBA or RGB data), or a
 * tfjs tensor `[T, H, W, 3]` / `[H, W, 3]` in [-1, 1] (read synchronously; not disposed).
 */
export function toRgbaImages(frames, { size = 256 } = {}) {
  if (frames && typeof frames.dataSync === "function") return tensorToImages(frames);
  return Array.from(frames, (f) => {
    if (f && typeof f.dataSync === "function") return tensorToImages(f)[0];
    const data = f.data ?? f;
    const width = f.width ?? size;
    const height = f.height ?? size;
    const pixels = width * height;
    if (data.length === pixels * 4)
      return {
        data:
          data instanceof Uint8ClampedArray ? data : new Uint8ClampedArray(data.buffer, data.byteOffset, data.length),
        width,
        height,
      };
    if (data.length === pixels * 3) {
      const rgba = new Uint8ClampedArray(pixels * 4);
      for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
        rgba[j] = data[i];
        rgba[j + 1] = data[i + 1];
        rgba[j + 2] = data[i + 2];
        rgba[j + 3] = 255;
      }
      return { data: rgba, width, height };
    }
    throw new Error(
      `A ${width}x${height} frame needs ${pixels * 3} (RGB) or ${pixels * 4} (RGBA) bytes; got ${data.length}.`,
    );
  });
}

// [T, H, W, 3] or [H, W, 3] floats in [-1, 1] -> RGBA images.
function tensorToImages(tensor) {
  const shape = tensor.shape.length === 3 ? [1, ...tensor.shape] : tensor.shape;
  const [count, height, width, channels] = shape;
  if (shape.length !== 4 || channels !== 3)
    throw new Error(`Expected frames [T, H, W, 3], got shape [${tensor.shape.join(", ")}].`);
  const values = tensor.dataSync();
  const per = height * width * 3;
  return Array.from({ length: count }, (_, t) => ({
    data: unitToRgba(values.subarray(t * per, (t + 1) * per)),
    width,
    height,
  }));
}

/** Draws one frame (any form `toRgbaImages` accepts) on a canvas, resizing the canvas to the frame. */
export function drawFrame(canvas, frame, options) {
  const [image] = toRgbaImages([frame], options);
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext("2d").putImageData(new ImageData(image.data, image.width, image.height), 0, 0);
  return canvas;
}

/**
 * A strip of frames: returns a `<div class="frame-strip">` of figures, each a canvas with a
 * caption. Options:
 * - `indices`: frame numbers to print (default 0, 1, ...);
 * - `labels`: captions, overriding "frame i" (e.g. a schedule name);
 * - `size`: CSS pixels per frame side (default 128);
 * - `selected`: a frame number to outline;
 * - `description`: the accessible name prefix of each canvas (default "Frame").
 */
export function frameStrip(frames, { indices, labels, size = 128, selected, description = "Frame", frameSize } = {}) {
  ensureStyle();
  const images = toRgbaImages(frames, { size: frameSize });
  const strip = document.createElement("div");
  strip.className = "frame-strip";
  images.forEach((image, i) => {
    const index = indices?.[i] ?? i;
    const caption = labels?.[i] ?? `frame ${index}`;
    const figure = document.createElement("figure");
    if (index === selected) figure.classList.add("selected");
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.style.width = `${size}px`;
    canvas.style.height = `${Math.round((size * image.height) / image.width)}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", labels?.[i] ? `${description}: ${caption}` : `${description} ${index}`);
    canvas.dataset.index = String(index);
    canvas.getContext("2d").putImageData(new ImageData(image.data, image.width, image.height), 0, 0);
    const text = document.createElement("figcaption");
    text.textContent = caption;
    figure.append(canvas, text);
    strip.append(figure);
  });
  return strip;
}
