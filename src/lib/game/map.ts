/**
 * The built-in game's level: a grid maze generated from a seed (recursive backtracker, then
 * some dead ends knocked through and a few rooms carved so there are loops and open spaces),
 * with sliding doors in corridors and wall materials grouped in regions so that a glance at the
 * walls tells where you are.
 */
import { Rng } from "../core/index.js";

/** Cell contents. Walls 1..3 are materials; a door is a wall that can slide open. */
export const CELL = { empty: 0, brick: 1, stone: 2, moss: 3, door: 4 } as const;
export type CellKind = (typeof CELL)[keyof typeof CELL];

export interface Door {
  x: number;
  y: number;
  /** Axis the corridor runs along; the door plane sits across it, at the cell's middle. */
  axis: "x" | "y";
}

export interface GameMap {
  width: number;
  height: number;
  /** Row-major `[height, width]` of CellKind. */
  cells: Uint8Array;
  doors: Door[];
  /** Row-major `[height, width]`: index into `doors`, or -1. */
  doorIndex: Int16Array;
  start: { x: number; y: number; angle: number };
}

/** Maze rooms per side; the grid is `2 * MAZE_ROOMS + 1` cells wide. */
export const MAZE_ROOMS = 8;

const DIRS: readonly [number, number][] = [
  [1, 0],
  [0, 1],
  [-1, 0],
  [0, -1],
];

export function generateMap(seed: number, rooms = MAZE_ROOMS): GameMap {
  const rng = new Rng((seed ^ 0x6d617a65) >>> 0);
  const width = 2 * rooms + 1;
  const height = width;
  const open = new Uint8Array(width * height);
  const at = (x: number, y: number) => y * width + x;

  // Recursive backtracker over the odd cells.
  const seen = new Uint8Array(rooms * rooms);
  const stack: [number, number][] = [[0, 0]];
  seen[0] = 1;
  open[at(1, 1)] = 1;
  while (stack.length > 0) {
    const [cx, cy] = stack[stack.length - 1];
    const next = rng.shuffle(DIRS.slice()).find(([dx, dy]) => {
      const nx = cx + dx;
      const ny = cy + dy;
      return nx >= 0 && ny >= 0 && nx < rooms && ny < rooms && !seen[ny * rooms + nx];
    });
    if (next === undefined) {
      stack.pop();
      continue;
    }
    const nx = cx + next[0];
    const ny = cy + next[1];
    seen[ny * rooms + nx] = 1;
    open[at(2 * cx + 1 + next[0], 2 * cy + 1 + next[1])] = 1;
    open[at(2 * nx + 1, 2 * ny + 1)] = 1;
    stack.push([nx, ny]);
  }

  // Knock through half of the dead ends, so agents can loop instead of always backtracking.
  for (let cy = 0; cy < rooms; cy++) {
    for (let cx = 0; cx < rooms; cx++) {
      const x = 2 * cx + 1;
      const y = 2 * cy + 1;
      const walls = DIRS.filter(([dx, dy]) => !open[at(x + dx, y + dy)]);
      if (walls.length !== 3 || rng.next() < 0.5) continue;
      const inner = walls.filter(
        ([dx, dy]) => x + 2 * dx > 0 && x + 2 * dx < width - 1 && y + 2 * dy > 0 && y + 2 * dy < height - 1,
      );
      if (inner.length === 0) continue;
      const [dx, dy] = inner[rng.int(inner.length)];
      open[at(x + dx, y + dy)] = 1;
    }
  }

  // A few 3x3 rooms, where the wanderers can be seen from afar.
  for (let r = 0; r < 2; r++) {
    const x0 = 2 * (1 + rng.int(rooms - 2)) + 1;
    const y0 = 2 * (1 + rng.int(rooms - 2)) + 1;
    for (let y = y0; y < y0 + 3; y++) for (let x = x0; x < x0 + 3; x++) open[at(x, y)] = 1;
  }

  // Wall materials by region (blocks of 6x6 cells), rotated by the seed.
  const cells = new Uint8Array(width * height);
  const shift = rng.int(3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (open[at(x, y)]) continue;
      cells[at(x, y)] = 1 + ((Math.floor(x / 6) + 2 * Math.floor(y / 6) + shift) % 3);
    }
  }

  // Doors: corridor cells between two rooms with walls on both sides, away from the start and
  // from each other.
  const candidates: Door[] = [];
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      if (!open[at(x, y)] || (x + y) % 2 === 0) continue;
      const alongX = open[at(x - 1, y)] && open[at(x + 1, y)] && !open[at(x, y - 1)] && !open[at(x, y + 1)];
      const alongY = open[at(x, y - 1)] && open[at(x, y + 1)] && !open[at(x - 1, y)] && !open[at(x + 1, y)];
      if ((alongX || alongY) && x + y > 4) candidates.push({ x, y, axis: alongX ? "x" : "y" });
    }
  }
  const doors: Door[] = [];
  const doorIndex = new Int16Array(width * height).fill(-1);
  for (const d of rng.shuffle(candidates)) {
    if (doors.length >= 8) break;
    if (doors.some((o) => Math.abs(o.x - d.x) + Math.abs(o.y - d.y) < 4)) continue;
    doorIndex[at(d.x, d.y)] = doors.length;
    cells[at(d.x, d.y)] = CELL.door;
    doors.push(d);
  }

  // Start in the top-left room, facing an open neighbour.
  const [sx, sy] = DIRS.find(([dx, dy]) => cells[at(1 + dx, 1 + dy)] === CELL.empty) ?? [1, 0];
  return { width, height, cells, doors, doorIndex, start: { x: 1.5, y: 1.5, angle: Math.atan2(sy, sx) } };
}

/** Cell at integer coordinates; outside the grid counts as stone wall. */
export function cellAt(map: GameMap, x: number, y: number): number {
  if (x < 0 || y < 0 || x >= map.width || y >= map.height) return CELL.stone;
  return map.cells[y * map.width + x];
}
