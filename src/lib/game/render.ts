/**
 * The built-in game's renderer: a grid raycaster (one DDA ray per screen column) with textured
 * walls, sliding doors on the cell's mid-plane, cast floor and ceiling tiles, distance fog,
 * billboard sprites and a small HUD. It writes packed RGBA pixels into a Uint32Array view of the
 * frame and allocates nothing per frame, so it runs in Node, pages and workers alike.
 *
 * Vertical look (pitch) shifts the horizon; the eye height (raised by a jump) moves walls and
 * floor apart. Both use the same focal length as the horizontal projection (square pixels).
 */
import { CELL, type GameMap } from "./map.js";
import {
  CEILING_COLORS,
  FLOOR_COLORS,
  HUD,
  SPRITE_TEXTURE,
  TEX_SIZE,
  WALL_TEXTURES,
  packRgb,
  shadeColor,
} from "./textures.js";

export const SCREEN_SIZE = 256;
/** Half-width of the camera plane at distance 1: a 67 degree horizontal field of view. */
const PLANE = 0.66;
const FOCAL = SCREEN_SIZE / 2 / PLANE;
/** Horizon shift in pixels at full pitch (|pitch| = 1). */
export const PITCH_PIXELS = 72;
const MAX_RAY_STEPS = 64;
/** World size of a sprite (its height and width). */
const SPRITE_SIZE = 0.55;
const TRANSPARENT = packRgb(0, 0, 0);

export interface RenderView {
  x: number;
  y: number;
  angle: number;
  /** In [-1, 1]; > 0 looks up. */
  pitch: number;
  /** Eye height above the floor in wall heights (0.5 standing, more in a jump). */
  eye: number;
  /** Openness in [0, 1] per door of the map. */
  doorOpenness: ArrayLike<number>;
  sprites: readonly { x: number; y: number; z: number }[];
  hud: { doorsOpened: number; usedRecently: boolean; airborne: boolean };
}

/** Darkening with distance; far detail fades out instead of aliasing. */
function fog(distance: number): number {
  const s = 1 / (1 + 0.045 * distance * distance);
  return s < 0.1 ? 0.1 : s;
}

export class Raycaster {
  private readonly zbuf = new Float32Array(SCREEN_SIZE);
  private readonly spriteTexels = new Uint32Array(TEX_SIZE * TEX_SIZE);
  private readonly spriteOrder: number[] = [];

  constructor(private readonly map: GameMap) {}

  /** Draws one frame into `out` (SCREEN_SIZE^2 packed RGBA pixels). */
  render(view: RenderView, out: Uint32Array): void {
    const dirX = Math.cos(view.angle);
    const dirY = Math.sin(view.angle);
    const planeX = -dirY * PLANE;
    const planeY = dirX * PLANE;
    const horizon = SCREEN_SIZE / 2 + view.pitch * PITCH_PIXELS;
    this.drawFloorAndCeiling(view, out, dirX, dirY, planeX, planeY, horizon);
    this.drawWalls(view, out, dirX, dirY, planeX, planeY, horizon);
    this.drawSprites(view, out, dirX, dirY, planeX, planeY, horizon);
    drawHud(view, out);
  }

  private drawFloorAndCeiling(
    view: RenderView,
    out: Uint32Array,
    dirX: number,
    dirY: number,
    planeX: number,
    planeY: number,
    horizon: number,
  ): void {
    const rx0 = dirX - planeX;
    const ry0 = dirY - planeY;
    const stepScale = (2 * PLANE) / SCREEN_SIZE;
    for (let y = 0; y < SCREEN_SIZE; y++) {
      const p = y + 0.5 - horizon;
      const isFloor = p > 0;
      const height = isFloor ? view.eye : 1 - view.eye;
      const dist = (height * FOCAL) / Math.max(0.5, Math.abs(p));
      const s = fog(dist);
      const colors = isFloor ? FLOOR_COLORS : CEILING_COLORS;
      const c0 = packRgb((colors[0][0] * s) | 0, (colors[0][1] * s) | 0, (colors[0][2] * s) | 0);
      const c1 = packRgb((colors[1][0] * s) | 0, (colors[1][1] * s) | 0, (colors[1][2] * s) | 0);
      // World position under the leftmost column, and its step per column (offset by 1024 so
      // truncation equals floor for every cell a ray can reach).
      let fx = view.x + dist * rx0 + 1024;
      let fy = view.y + dist * ry0 + 1024;
      const sx = dist * planeX * stepScale;
      const sy = dist * planeY * stepScale;
      fx += sx / 2;
      fy += sy / 2;
      let o = y * SCREEN_SIZE;
      if (isFloor) {
        // Checkerboard tiles, one per cell.
        for (let x = 0; x < SCREEN_SIZE; x++, o++, fx += sx, fy += sy)
          out[o] = (((fx | 0) + (fy | 0)) & 1) === 0 ? c0 : c1;
      } else {
        // Light panels on one cell in four.
        for (let x = 0; x < SCREEN_SIZE; x++, o++, fx += sx, fy += sy)
          out[o] = ((fx | 0) & 1) === 0 && ((fy | 0) & 1) === 0 ? c1 : c0;
      }
    }
  }

  private drawWalls(
    view: RenderView,
    out: Uint32Array,
    dirX: number,
    dirY: number,
    planeX: number,
    planeY: number,
    horizon: number,
  ): void {
    const { map, zbuf } = this;
    const px = view.x;
    const py = view.y;
    for (let x = 0; x < SCREEN_SIZE; x++) {
      const camX = (2 * (x + 0.5)) / SCREEN_SIZE - 1;
      const rdx = dirX + planeX * camX;
      const rdy = dirY + planeY * camX;
      let mapX = Math.floor(px);
      let mapY = Math.floor(py);
      const ddx = rdx === 0 ? 1e30 : Math.abs(1 / rdx);
      const ddy = rdy === 0 ? 1e30 : Math.abs(1 / rdy);
      const stepX = rdx < 0 ? -1 : 1;
      const stepY = rdy < 0 ? -1 : 1;
      let sideX = rdx < 0 ? (px - mapX) * ddx : (mapX + 1 - px) * ddx;
      let sideY = rdy < 0 ? (py - mapY) * ddy : (mapY + 1 - py) * ddy;
      let side = 0;
      let kind = CELL.stone as number;
      let perp = 32;
      let texU = 0;
      for (let i = 0; i < MAX_RAY_STEPS; i++) {
        if (sideX < sideY) {
          sideX += ddx;
          mapX += stepX;
          side = 0;
        } else {
          sideY += ddy;
          mapY += stepY;
          side = 1;
        }
        const inside = mapX >= 0 && mapY >= 0 && mapX < map.width && mapY < map.height;
        const cell = inside ? map.cells[mapY * map.width + mapX] : CELL.stone;
        if (cell === CELL.empty) continue;
        if (cell === CELL.door) {
          const door = map.doors[map.doorIndex[mapY * map.width + mapX]];
          const open = view.doorOpenness[map.doorIndex[mapY * map.width + mapX]];
          let t: number;
          let u: number;
          if (door.axis === "x") {
            t = (mapX + 0.5 - px) / rdx;
            const hit = py + t * rdy;
            if (Math.floor(hit) !== mapY) continue; // leaves through the side, into the jamb
            u = hit - mapY;
          } else {
            t = (mapY + 0.5 - py) / rdy;
            const hit = px + t * rdx;
            if (Math.floor(hit) !== mapX) continue;
            u = hit - mapX;
          }
          if (u < open) continue; // through the open part of the sliding door
          kind = cell;
          perp = t;
          texU = Math.min(TEX_SIZE - 1, Math.floor((u - open) * TEX_SIZE));
          side = 0;
          break;
        }
        kind = cell;
        perp = side === 0 ? sideX - ddx : sideY - ddy;
        let wallX = side === 0 ? py + perp * rdy : px + perp * rdx;
        wallX -= Math.floor(wallX);
        texU = Math.min(TEX_SIZE - 1, Math.floor(wallX * TEX_SIZE));
        if ((side === 0 && rdx < 0) || (side === 1 && rdy > 0)) texU = TEX_SIZE - 1 - texU;
        break;
      }
      if (perp < 1e-3) perp = 1e-3;
      zbuf[x] = perp;

      const top = horizon - ((1 - view.eye) * FOCAL) / perp;
      const bottom = horizon + (view.eye * FOCAL) / perp;
      if (bottom <= 0 || top >= SCREEN_SIZE) continue;
      const shade = fog(perp) * (side === 1 ? 0.7 : 1);
      const tex = WALL_TEXTURES[kind];
      // One run of pixels per texel: pixel y shows texel v when its centre lies in v's span.
      const span = (bottom - top) / TEX_SIZE;
      for (let v = 0; v < TEX_SIZE; v++) {
        const ya = Math.max(0, Math.ceil(top + v * span - 0.5));
        const yb = Math.min(SCREEN_SIZE, Math.ceil(top + (v + 1) * span - 0.5));
        if (yb <= ya) continue;
        const c = shadeColor(tex[v * TEX_SIZE + texU], shade);
        for (let o = ya * SCREEN_SIZE + x, end = yb * SCREEN_SIZE + x; o < end; o += SCREEN_SIZE) out[o] = c;
      }
    }
  }

  private drawSprites(
    view: RenderView,
    out: Uint32Array,
    dirX: number,
    dirY: number,
    planeX: number,
    planeY: number,
    horizon: number,
  ): void {
    const { sprites } = view;
    const order = this.spriteOrder;
    order.length = 0;
    for (let i = 0; i < sprites.length; i++) order.push(i);
    const d2 = (i: number) => (sprites[i].x - view.x) ** 2 + (sprites[i].y - view.y) ** 2;
    order.sort((a, b) => d2(b) - d2(a)); // far to near
    const invDet = 1 / (planeX * dirY - dirX * planeY);
    for (const i of order) {
      const s = sprites[i];
      const rx = s.x - view.x;
      const ry = s.y - view.y;
      // Camera-space coordinates: sprite = tx * plane + depth * dir.
      const tx = invDet * (dirY * rx - dirX * ry);
      const depth = invDet * (-planeY * rx + planeX * ry);
      if (depth < 0.15) continue;
      const size = (SPRITE_SIZE * FOCAL) / depth;
      const centerX = (SCREEN_SIZE / 2) * (1 + tx / depth);
      const centerY = horizon + ((view.eye - s.z - SPRITE_SIZE / 2) * FOCAL) / depth;
      const left = centerX - size / 2;
      const topY = centerY - size / 2;
      const x0 = Math.max(0, Math.floor(left + 0.5));
      const x1 = Math.min(SCREEN_SIZE, Math.floor(left + size + 0.5));
      const y0 = Math.max(0, Math.floor(topY + 0.5));
      const y1 = Math.min(SCREEN_SIZE, Math.floor(topY + size + 0.5));
      if (x1 <= x0 || y1 <= y0) continue;
      const shade = fog(depth);
      const texels = this.spriteTexels;
      for (let k = 0; k < texels.length; k++)
        texels[k] = SPRITE_TEXTURE[k] === TRANSPARENT ? TRANSPARENT : shadeColor(SPRITE_TEXTURE[k], shade);
      const scale = TEX_SIZE / size;
      for (let x = x0; x < x1; x++) {
        if (depth >= this.zbuf[x]) continue;
        const u = Math.min(TEX_SIZE - 1, ((x + 0.5 - left) * scale) | 0);
        for (let y = y0; y < y1; y++) {
          const v = Math.min(TEX_SIZE - 1, ((y + 0.5 - topY) * scale) | 0);
          const c = texels[v * TEX_SIZE + u];
          if (c !== TRANSPARENT) out[y * SCREEN_SIZE + x] = c;
        }
      }
    }
  }
}

function fillRect(out: Uint32Array, x: number, y: number, w: number, h: number, color: number): void {
  for (let j = y; j < y + h; j++) out.fill(color, j * SCREEN_SIZE + x, j * SCREEN_SIZE + x + w);
}

/**
 * HUD, top edge, in 8-pixel blocks: a yellow square per door opened (left), a compass bar whose
 * white marker slides with the heading (centre), and a status light (right): green just after
 * `use`, cyan while in the air.
 */
function drawHud(view: RenderView, out: Uint32Array): void {
  const n = Math.min(8, view.hud.doorsOpened);
  for (let i = 0; i < n; i++) fillRect(out, 4 + 10 * i, 4, 8, 8, HUD.door);
  const barX = 96;
  const barW = 64;
  fillRect(out, barX, 4, barW, 8, HUD.panel);
  const turn = view.angle / (2 * Math.PI);
  const frac = turn - Math.floor(turn);
  fillRect(out, barX + Math.round(frac * (barW - 8)), 4, 8, 8, HUD.marker);
  const light = view.hud.usedRecently ? HUD.use : view.hud.airborne ? HUD.air : HUD.panel;
  fillRect(out, SCREEN_SIZE - 12, 4, 8, 8, light);
}
