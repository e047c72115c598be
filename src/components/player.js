// "Real game vs dream": two 256x256 canvases side by side, scaled up by CSS with
// `image-rendering: pixelated` so every generated pixel stays a crisp square. Where the browser
// can, both canvases hand their drawing to a worker (`transferControlToOffscreen`) and frames never
// touch the page's thread; otherwise the page draws the RGBA bytes the worker posts.

const STYLE = `
.player { display: flex; flex-wrap: wrap; gap: 12px; margin: 0.5rem 0; }
.player figure { margin: 0; }
.player canvas { display: block; width: var(--player-size, 384px); height: var(--player-size, 384px); max-width: 44vw; max-height: 44vw; image-rendering: pixelated; image-rendering: crisp-edges; background: #000; border-radius: 2px; }
.player figcaption { font: 13px var(--sans-serif, system-ui); margin-top: 4px; }
.player:focus-within canvas, .player canvas:focus { outline: 2px solid var(--theme-foreground-focus, #3b5fc0); outline-offset: 2px; }
`;

function ensureStyle() {
  if (document.getElementById("player-style")) return;
  const style = document.createElement("style");
  style.id = "player-style";
  style.textContent = STYLE;
  document.head.append(style);
}

function figure(id, caption, label) {
  const fig = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = 256;
  canvas.id = id;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  fig.append(canvas, cap);
  return {fig, canvas};
}

/** Whether canvases can be drawn from a worker here (`?offscreen=0` turns it off, for testing the fallback). */
export function offscreenSupported() {
  const off = new URLSearchParams(location.search).get("offscreen") === "0";
  return !off && typeof HTMLCanvasElement.prototype.transferControlToOffscreen === "function" && typeof OffscreenCanvas !== "undefined";
}

/**
 * The side-by-side view. `element` goes on the page; `offscreen()` transfers both canvases (once)
 * and returns `{real, dream}` OffscreenCanvases for a worker; `draw(real, dream)` paints RGBA bytes
 * from the page when nothing was transferred.
 */
export function createPlayer({size = 384} = {}) {
  ensureStyle();
  const element = document.createElement("div");
  element.className = "player";
  element.style.setProperty("--player-size", `${size}px`);
  const real = figure("play-real", "Real game (src/lib/game)", "The real game, played with your actions");
  const dream = figure("play-dream", "Dream (world model)", "The world model's dream, generated from your actions");
  element.append(real.fig, dream.fig);
  let transferred = false;
  const contexts = {};
  return {
    element,
    canvases: {real: real.canvas, dream: dream.canvas},
    offscreen() {
      transferred = true;
      return {real: real.canvas.transferControlToOffscreen(), dream: dream.canvas.transferControlToOffscreen()};
    },
    draw(realRgba, dreamRgba) {
      if (transferred) return;
      for (const [name, canvas, rgba] of [["real", real.canvas, realRgba], ["dream", dream.canvas, dreamRgba]]) {
        if (!rgba) continue;
        contexts[name] ??= canvas.getContext("2d");
        contexts[name].putImageData(new ImageData(rgba, 256, 256), 0, 0);
      }
    }
  };
}
