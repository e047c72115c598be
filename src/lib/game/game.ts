/**
 * The built-in game: a deterministic, seedable first-person maze. The seed fixes the level and
 * the wanderers' choices; given the same seed and the same actions, every frame is identical.
 * Every action kind has a visible effect: movement and yaw move the view, pitch shifts the
 * horizon, `jump` lifts the eye (and lights the HUD), `use` slides the door in front open or
 * shut (and lights the HUD). Two wanderers move on their own.
 *
 * No DOM: frames are RGBA Uint8ClampedArray buffers (ImageData's layout), so this runs in Node,
 * pages and Web Workers.
 */
import { INTERACTION_ID, type Action } from "../actions/index.js";
import { GamedreamError, Rng, type RngState } from "../core/index.js";
import { CELL, cellAt, generateMap, type GameMap } from "./map.js";
import { Raycaster, SCREEN_SIZE } from "./render.js";

/** Movement and physics per frame (30 fps). Moderate on purpose: a world model must learn it. */
export const GAME_TUNING = {
  /** Cells per frame at full forward/back. */
  moveSpeed: 0.07,
  /** Cells per frame when strafing. */
  strafeSpeed: 0.05,
  /** Radians per frame at |yaw| = 1. */
  turnRate: 0.07,
  /** Pitch units per frame at |pitch| = 1 (pitch is kept in [-1, 1]). */
  pitchRate: 0.06,
  jumpVelocity: 0.085,
  gravity: 0.011,
  playerRadius: 0.22,
  /** How far ahead (cells) `use` reaches a door. */
  useRange: 1.6,
  /** Door openness change per frame (a door takes 8 frames to slide). */
  doorSpeed: 0.125,
  spriteSpeed: 0.035,
  sprites: 2,
} as const;

export interface PlayerState {
  x: number;
  y: number;
  angle: number;
  pitch: number;
  /** Height above the floor (jumps). */
  z: number;
  vz: number;
}

export interface DoorState {
  openness: number;
  /** +1 opening, -1 closing, 0 still. */
  motion: number;
}

export interface SpriteState {
  x: number;
  y: number;
  /** Cell it walks to, and the cell it came from (it avoids turning back). */
  toX: number;
  toY: number;
  fromX: number;
  fromY: number;
  phase: number;
}

/** The whole mutable state, plain JSON: save it, post it to a worker, restore it with `setState`. */
export interface GameState {
  version: 1;
  seed: number;
  frame: number;
  player: PlayerState;
  doors: DoorState[];
  doorsOpened: number;
  lastUseFrame: number;
  sprites: SpriteState[];
  rng: RngState;
}

/** What the last `step` did, for agents and logs. */
export interface StepEvents {
  /** Index of the door `use` started moving, or -1. */
  door: number;
  jumped: boolean;
  /** The move was blocked by a wall (in at least one axis). */
  bumped: boolean;
}

/** One rendered frame: RGBA bytes, row-major (`new ImageData(frame.data, 256, 256)` works). */
export interface Frame {
  data: Uint8ClampedArray;
  width: number;
  height: number;
  /** Steps taken before this frame (0 after reset). */
  index: number;
}

export interface GameOptions {
  seed: number;
}

export interface Game {
  readonly seed: number;
  readonly map: GameMap;
  readonly width: number;
  readonly height: number;
  /** A snapshot copy of the state. */
  readonly state: GameState;
  /** Effects of the last step. */
  readonly events: StepEvents;
  /** Back to the seed's start; returns the first frame. */
  reset(): Frame;
  /** Applies one action (lenient: out-of-range values are clamped) and returns the next frame. */
  step(action: Readonly<Action>, out?: Uint8ClampedArray): Frame;
  /** Renders the current state without advancing it. */
  render(out?: Uint8ClampedArray): Frame;
  setState(state: GameState): void;
  /** True when the player (or a wanderer) can stand in cell (cx, cy) right now. */
  isPassable(cx: number, cy: number): boolean;
  /** Index of the door `use` would act on now, or -1. */
  facingDoor(): number;
}

export function createGame(options: GameOptions): Game {
  return new MazeGame(options.seed);
}

const clampUnit = (v: number) => (Number.isNaN(v) ? 0 : v < -1 ? -1 : v > 1 ? 1 : v);

class MazeGame implements Game {
  readonly width = SCREEN_SIZE;
  readonly height = SCREEN_SIZE;
  readonly map: GameMap;
  private readonly raycaster: Raycaster;
  private s!: GameState;
  private rng!: Rng;
  private lastEvents: StepEvents = { door: -1, jumped: false, bumped: false };

  constructor(readonly seed: number) {
    if (!Number.isFinite(seed))
      throw new GamedreamError(
        "GAME_INVALID_SEED",
        "validation",
        `The game seed must be a finite number, got ${seed}.`,
      );
    this.map = generateMap(seed);
    this.raycaster = new Raycaster(this.map);
    this.init();
  }

  private init(): void {
    const { map } = this;
    this.rng = new Rng((this.seed ^ 0x67616d65) >>> 0);
    const spots: [number, number][] = [];
    for (let y = 0; y < map.height; y++) {
      for (let x = 0; x < map.width; x++) {
        if (map.cells[y * map.width + x] === CELL.empty && Math.abs(x - 1) + Math.abs(y - 1) >= 6) spots.push([x, y]);
      }
    }
    const sprites: SpriteState[] = this.rng
      .shuffle(spots)
      .slice(0, GAME_TUNING.sprites)
      .map(([x, y]) => ({
        x: x + 0.5,
        y: y + 0.5,
        toX: x,
        toY: y,
        fromX: x,
        fromY: y,
        phase: this.rng.uniform(0, 2 * Math.PI),
      }));
    this.s = {
      version: 1,
      seed: this.seed,
      frame: 0,
      player: { x: map.start.x, y: map.start.y, angle: map.start.angle, pitch: 0, z: 0, vz: 0 },
      doors: map.doors.map(() => ({ openness: 0, motion: 0 })),
      doorsOpened: 0,
      lastUseFrame: -100,
      sprites,
      rng: this.rng.getState(),
    };
    this.lastEvents = { door: -1, jumped: false, bumped: false };
  }

  get state(): GameState {
    return structuredClone({ ...this.s, rng: this.rng.getState() });
  }

  get events(): StepEvents {
    return { ...this.lastEvents };
  }

  setState(state: GameState): void {
    if (state.version !== 1 || state.seed !== this.seed || state.doors.length !== this.map.doors.length) {
      throw new GamedreamError(
        "GAME_STATE_MISMATCH",
        "validation",
        `This game state belongs to another level (seed ${state.seed}, version ${state.version}); this game has seed ${this.seed}.`,
      );
    }
    this.s = structuredClone(state);
    this.rng = new Rng(state.rng);
  }

  reset(): Frame {
    this.init();
    return this.render();
  }

  isPassable(cx: number, cy: number): boolean {
    const cell = cellAt(this.map, cx, cy);
    if (cell === CELL.empty) return true;
    if (cell !== CELL.door) return false;
    return this.s.doors[this.map.doorIndex[cy * this.map.width + cx]].openness >= 0.95;
  }

  private blocked(x: number, y: number): boolean {
    const r = GAME_TUNING.playerRadius;
    return (
      !this.isPassable(Math.floor(x - r), Math.floor(y - r)) ||
      !this.isPassable(Math.floor(x + r), Math.floor(y - r)) ||
      !this.isPassable(Math.floor(x - r), Math.floor(y + r)) ||
      !this.isPassable(Math.floor(x + r), Math.floor(y + r))
    );
  }

  facingDoor(): number {
    const { x, y, angle } = this.s.player;
    const dx = Math.cos(angle);
    const dy = Math.sin(angle);
    for (let t = 0.05; t <= GAME_TUNING.useRange; t += 0.05) {
      const cx = Math.floor(x + dx * t);
      const cy = Math.floor(y + dy * t);
      const cell = cellAt(this.map, cx, cy);
      if (cell === CELL.door) return this.map.doorIndex[cy * this.map.width + cx];
      if (cell !== CELL.empty) return -1;
    }
    return -1;
  }

  /** True when the player's body overlaps cell (cx, cy), so a door there must not close. */
  private overlaps(cx: number, cy: number): boolean {
    const { x, y } = this.s.player;
    const r = GAME_TUNING.playerRadius;
    return x + r > cx && x - r < cx + 1 && y + r > cy && y - r < cy + 1;
  }

  step(action: Readonly<Action>, out?: Uint8ClampedArray): Frame {
    const T = GAME_TUNING;
    const p = this.s.player;
    const events: StepEvents = { door: -1, jumped: false, bumped: false };

    p.angle += clampUnit(action.camera[0]) * T.turnRate;
    p.angle = Math.atan2(Math.sin(p.angle), Math.cos(p.angle)); // keep it bounded over long episodes
    p.pitch = Math.max(-1, Math.min(1, p.pitch + clampUnit(action.camera[1]) * T.pitchRate));

    const [fwd, back, left, right] = action.movement.map((m) => (m > 0.5 ? 1 : 0));
    const along = (fwd - back) * T.moveSpeed;
    const across = (right - left) * T.strafeSpeed;
    const dx = Math.cos(p.angle);
    const dy = Math.sin(p.angle);
    // "Right" is the camera plane's direction (the heading turned a quarter towards +yaw).
    const mx = dx * along - dy * across;
    const my = dy * along + dx * across;
    if (mx !== 0) {
      if (this.blocked(p.x + mx, p.y)) events.bumped = true;
      else p.x += mx;
    }
    if (my !== 0) {
      if (this.blocked(p.x, p.y + my)) events.bumped = true;
      else p.y += my;
    }

    if (action.interaction === INTERACTION_ID.use) {
      this.s.lastUseFrame = this.s.frame;
      const i = this.facingDoor();
      if (i >= 0) {
        const door = this.s.doors[i];
        const { x, y } = this.map.doors[i];
        if (door.openness < 1 && door.motion !== 1) {
          door.motion = 1;
          this.s.doorsOpened++;
          events.door = i;
        } else if (door.openness >= 1 && !this.overlaps(x, y)) {
          door.motion = -1;
          events.door = i;
        }
      }
    } else if (action.interaction === INTERACTION_ID.jump && p.z === 0) {
      p.vz = T.jumpVelocity;
      events.jumped = true;
    }
    if (p.z > 0 || p.vz > 0) {
      p.z += p.vz;
      p.vz -= T.gravity;
      if (p.z <= 0) {
        p.z = 0;
        p.vz = 0;
      }
    }

    for (const door of this.s.doors) {
      if (door.motion === 0) continue;
      door.openness = Math.max(0, Math.min(1, door.openness + door.motion * T.doorSpeed));
      if (door.openness === 0 || door.openness === 1) door.motion = 0;
    }
    this.moveSprites();

    this.s.frame++;
    this.lastEvents = events;
    return this.render(out);
  }

  private moveSprites(): void {
    for (const sp of this.s.sprites) {
      if (!this.isPassable(sp.toX, sp.toY)) {
        // A door shut in front of it: turn back.
        [sp.toX, sp.toY, sp.fromX, sp.fromY] = [sp.fromX, sp.fromY, sp.toX, sp.toY];
      }
      const tx = sp.toX + 0.5 - sp.x;
      const ty = sp.toY + 0.5 - sp.y;
      const dist = Math.hypot(tx, ty);
      if (dist > GAME_TUNING.spriteSpeed) {
        sp.x += (tx / dist) * GAME_TUNING.spriteSpeed;
        sp.y += (ty / dist) * GAME_TUNING.spriteSpeed;
        continue;
      }
      sp.x = sp.toX + 0.5;
      sp.y = sp.toY + 0.5;
      const options: [number, number][] = [];
      for (const [ox, oy] of [
        [1, 0],
        [0, 1],
        [-1, 0],
        [0, -1],
      ]) {
        const nx = sp.toX + ox;
        const ny = sp.toY + oy;
        if (this.isPassable(nx, ny) && !(nx === sp.fromX && ny === sp.fromY)) options.push([nx, ny]);
      }
      const [nx, ny] = options.length > 0 ? options[this.rng.int(options.length)] : [sp.fromX, sp.fromY];
      sp.fromX = sp.toX;
      sp.fromY = sp.toY;
      sp.toX = nx;
      sp.toY = ny;
    }
  }

  render(out?: Uint8ClampedArray): Frame {
    const size = this.width * this.height * 4;
    const data = out ?? new Uint8ClampedArray(size);
    if (data.length !== size || data.byteOffset % 4 !== 0) {
      throw new GamedreamError(
        "GAME_BAD_BUFFER",
        "validation",
        `A frame buffer must hold ${size} bytes (256x256 RGBA) and start on a 4-byte boundary.`,
      );
    }
    const s = this.s;
    const p = s.player;
    this.raycaster.render(
      {
        x: p.x,
        y: p.y,
        angle: p.angle,
        pitch: p.pitch,
        eye: 0.5 + p.z,
        doorOpenness: s.doors.map((d) => d.openness),
        sprites: s.sprites.map((sp) => ({ x: sp.x, y: sp.y, z: 0.1 * Math.abs(Math.sin(s.frame * 0.2 + sp.phase)) })),
        hud: { doorsOpened: s.doorsOpened, usedRecently: s.frame - s.lastUseFrame <= 3, airborne: p.z > 0 },
      },
      new Uint32Array(data.buffer, data.byteOffset, this.width * this.height),
    );
    return { data, width: this.width, height: this.height, index: s.frame };
  }
}

/**
 * Render cost for the benchmark: plays `frames` steps of a fixed walk-and-turn action pattern
 * into one reused buffer and returns milliseconds per frame (step + render) and for rendering
 * alone.
 */
export function measureGameRenderMs(frames = 300, seed = 1): { stepMs: number; renderMs: number; frames: number } {
  const game = createGame({ seed });
  const buffer = new Uint8ClampedArray(SCREEN_SIZE * SCREEN_SIZE * 4);
  const walk: Action = { movement: [1, 0, 0, 0], camera: [0.5, 0], interaction: 0 };
  for (let i = 0; i < 20; i++) game.step(walk, buffer); // warm up the JIT
  let t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    walk.camera[0] = Math.sin(i * 0.05);
    walk.camera[1] = 0.3 * Math.sin(i * 0.11);
    walk.interaction = i % 40 === 0 ? INTERACTION_ID.jump : 0;
    game.step(walk, buffer);
  }
  const stepMs = (performance.now() - t0) / frames;
  t0 = performance.now();
  for (let i = 0; i < frames; i++) game.render(buffer);
  const renderMs = (performance.now() - t0) / frames;
  return { stepMs, renderMs, frames };
}
