// "Real game vs dream": two 256x256 canvases side by side, scaled up by CSS with
// `image-rendering: pixelated` so every generated pixel stays a crisp square. Where the browser
// can, both canvases hand their drawing to a worker (`transferControlToOffscreen`) and frames never
// touch the page's thread; otherwise the page draws the RGBA bytes the worker posts.
import { injectStyle } from "./style.js";

const STYLE = `
.player { display: flex; gap: 12px; margin: 0.5rem 0; max-width: calc(2 * var(--player-size, 384px) + 12px); }
.player figure { margin: 0; flex: 1 1 0; min-width: 0; max-width: var(--player-size, 384px); }
.player canvas { display: block; width: 100%; height: auto; aspect-ratio: 1; image-rendering: pixelated; image-rendering: crisp-edges; background: #000; border-radius: 2px; }
.player figcaption { font: 13px var(--sans-serif, system-ui); margin-top: 4px; color: var(--theme-foreground, #1b1e23); }
`;

function ensureStyle() {
  injectStyle("player-style", STYLE);
}

function makeCanvas(id, label) {
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = 256;
  canvas.id = id;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  return canvas;
}

/** Whether canvases can be drawn from a worker here (`?offscreen=0` turns it off, for testing the fallback). */
export function offscreenSupported() {
  const off = new URLSearchParams(location.search).get("offscreen") === "0";
  return (
    !off &&
    typeof HTMLCanvasElement.prototype.transferControlToOffscreen === "function" &&
    typeof OffscreenCanvas !== "undefined"
  );
}

const SIDES = [
  ["real", "play-real", "Real game (src/lib/game)", "The real game, played with your actions"],
  ["dream", "play-dream", "Dream (world model)", "The world model's dream, generated from your actions"],
];

/**
 * The side-by-side view. `element` goes on the page; `offscreen()` transfers both canvases and
 * returns `{real, dream}` OffscreenCanvases for a worker; `draw(real, dream)` paints RGBA bytes
 * from the page when nothing was transferred; `replaceCanvases()` puts fresh canvases in place
 * (a canvas transfers only once, so a new worker needs new ones).
 */
export function createPlayer({ size = 384 } = {}) {
  ensureStyle();
  const element = document.createElement("div");
  element.className = "player";
  element.style.setProperty("--player-size", `${size}px`);
  const canvases = {};
  for (const [side, id, caption, label] of SIDES) {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.textContent = caption;
    canvases[side] = makeCanvas(id, label);
    fig.append(canvases[side], cap);
    element.append(fig);
  }
  let transferred = false;
  let contexts = {};
  return {
    element,
    canvases,
    offscreen() {
      transferred = true;
      return { real: canvases.real.transferControlToOffscreen(), dream: canvases.dream.transferControlToOffscreen() };
    },
    replaceCanvases() {
      for (const [side, id, , label] of SIDES) {
        const fresh = makeCanvas(id, label);
        canvases[side].replaceWith(fresh);
        canvases[side] = fresh;
      }
      transferred = false;
      contexts = {};
    },
    draw(realRgba, dreamRgba) {
      if (transferred) return;
      for (const [side, rgba] of [
        ["real", realRgba],
        ["dream", dreamRgba],
      ]) {
        if (!rgba) continue;
        contexts[side] ??= canvases[side].getContext("2d");
        contexts[side].putImageData(new ImageData(rgba, 256, 256), 0, 0);
      }
    },
  };
}
