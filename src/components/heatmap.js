// Small canvas views for attention maps: a frame with a token-grid heatmap overlaid, and a
// square matrix heatmap. Both draw crisp pixels (no smoothing) and carry an aria-label.

/** Viridis-like ramp without a dependency: value in [0, 1] -> [r, g, b]. */
export function ramp(v) {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(0.9999, Math.max(0, v)) * (stops.length - 1);
  const i = Math.floor(x),
    f = x - i;
  return stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c)));
}

/**
 * Draws `rgba` (Uint8ClampedArray 256x256x4) at `scale`, with `weights` (length rows*cols)
 * blended on top as a heatmap, and the query cell outlined. Returns the canvas.
 */
export function frameWithHeatmap({ rgba, size = 256, weights, rows, cols, query, scale = 1.5, alpha = 0.6, label }) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  canvas.style.width = canvas.style.height = `${size * scale}px`;
  canvas.style.imageRendering = "pixelated";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  const ctx = canvas.getContext("2d");
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), size, size), 0, 0);
  if (weights) {
    const max = Math.max(...weights) || 1;
    const cw = size / cols,
      ch = size / rows;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const [R, G, B] = ramp(weights[r * cols + c] / max);
        ctx.fillStyle = `rgba(${R},${G},${B},${alpha})`;
        ctx.fillRect(c * cw, r * ch, cw, ch);
      }
    if (query != null) {
      ctx.strokeStyle = "#ff2d2d";
      ctx.lineWidth = 3;
      ctx.strokeRect((query % cols) * cw + 1.5, Math.floor(query / cols) * ch + 1.5, cw - 3, ch - 3);
    }
  }
  return canvas;
}

/** A rows x cols matrix (row-major Float32Array) as a heatmap of `cell` pixels per entry. */
export function matrixHeatmap({ values, rows, cols, cell = 24, label }) {
  const canvas = document.createElement("canvas");
  canvas.width = cols * cell;
  canvas.height = rows * cell;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  const ctx = canvas.getContext("2d");
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c];
      const [R, G, B] = ramp(v);
      ctx.fillStyle = `rgb(${R},${G},${B})`;
      ctx.fillRect(c * cell, r * cell, cell, cell);
      ctx.fillStyle = v > 0.6 ? "#000" : "#fff";
      ctx.font = `${Math.round(cell / 2.6)}px sans-serif`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      if (cell >= 20) ctx.fillText(v.toFixed(2), c * cell + cell / 2, r * cell + cell / 2);
    }
  return canvas;
}
