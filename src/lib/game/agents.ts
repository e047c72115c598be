/**
 * Scripted players of the built-in game. Each is seedable and returns one Action per frame;
 * together they produce every action kind (all movement keys, both camera directions on both
 * axes, `use`, `jump`, and no-op frames), which a world model needs to see to learn them.
 *
 * - `random`: a random walk with momentum (held keys, smoothly drifting camera, turns away from
 *   walls, occasional jumps and uses).
 * - `wall`: a right-hand wall follower on the grid (turns in place, strafes to stay centred,
 *   backs off when stuck); it opens the doors it meets.
 * - `explorer`: walks to the nearest unvisited cell (breadth-first search), opens closed doors on
 *   its way with `use`, jumps now and then and looks up and down.
 *
 * - `<agent>-jitter` (any of the above): the same player, but on about 30% of frames a burst of
 *   1-3 frames of a random action (every key, both camera axes, use and jump) takes over. Scripted
 *   players hold their keys and turn smoothly, so a world model can predict their next frame from
 *   past motion and ignore the action; random bursts break that shortcut.
 * - `<agent>-jitter-idle`: the jitter player who also lets go of the keys now and then: spells of
 *   8-60 frames with no key and a still camera (about one per 150 frames). The scripted players
 *   never stand still, and a world model that has never seen a still view keeps the dream moving
 *   (and falling apart) while a player on the Play page waits.
 *
 * Agents read the game's state (they are scripted, not learned), so they need the Game object.
 * Camera values are multiples of 1/64: they survive float32 storage and CSV text exactly.
 */
import { INTERACTION_ID, type Action } from "../actions/index.js";
import { GamedreamError, Rng } from "../core/index.js";
import { GAME_TUNING, type Game, type PlayerState } from "./game.js";
import { CELL, cellAt } from "./map.js";

const BASE_AGENTS = ["random", "wall", "explorer"] as const;
type BaseAgentName = (typeof BASE_AGENTS)[number];
export const AGENT_NAMES = [
  ...BASE_AGENTS,
  "random-jitter",
  "wall-jitter",
  "explorer-jitter",
  "random-jitter-idle",
  "wall-jitter-idle",
  "explorer-jitter-idle",
] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

/** Per-frame chance that a random burst starts (when none is running). */
export const JITTER_RATE = 0.3;

/** Per-frame chance that an idle spell starts (when none is running), and its length range in frames. */
export const IDLE_RATE = 1 / 150;
export const IDLE_FRAMES = { min: 8, max: 60 } as const;

export interface Agent {
  readonly name: AgentName;
  /** Chooses the action for the next frame of `game` (which it must play from reset onwards). */
  act(game: Game): Action;
}

export function createAgent(name: string, seed: number): Agent {
  if (name.endsWith("-jitter-idle") && (BASE_AGENTS as readonly string[]).includes(name.slice(0, -12))) {
    const base = createBaseAgent(name.slice(0, -12) as BaseAgentName, seed);
    return idle(jitter(base, name as AgentName, seed), name as AgentName, seed);
  }
  if (name.endsWith("-jitter") && (BASE_AGENTS as readonly string[]).includes(name.slice(0, -7))) {
    return jitter(createBaseAgent(name.slice(0, -7) as BaseAgentName, seed), name as AgentName, seed);
  }
  return createBaseAgent(name, seed);
}

function createBaseAgent(name: string, seed: number): Agent {
  switch (name) {
    case "random":
      return new RandomWalker(seed);
    case "wall":
      return new WallFollower();
    case "explorer":
      return new Explorer(seed);
    default:
      throw new GamedreamError(
        "AGENT_UNKNOWN",
        "validation",
        `Unknown agent "${name}"; known agents: ${AGENT_NAMES.join(", ")}.`,
      );
  }
}

/** Clamps to [-1, 1] and rounds to a multiple of 1/64 (exact in float32 and in decimal text). */
function quantize(v: number): number {
  const q = Math.round(Math.max(-1, Math.min(1, v)) * 64) / 64;
  return q === 0 ? 0 : q;
}

function wrapAngle(a: number): number {
  return Math.atan2(Math.sin(a), Math.cos(a));
}

function action(
  fwd: number,
  back: number,
  left: number,
  right: number,
  yaw: number,
  pitch: number,
  interaction = 0,
): Action {
  return { movement: [fwd, back, left, right], camera: [quantize(yaw), quantize(pitch)], interaction };
}

/** Pitch rate that brings the view back level (at most `max` per frame). */
function levelPitch(p: PlayerState, max = 0.5): number {
  return Math.max(-max, Math.min(max, -p.pitch / GAME_TUNING.pitchRate));
}

const HEADINGS: readonly [number, number][] = [
  [1, 0],
  [0, 1],
  [-1, 0],
  [0, -1],
];

/**
 * Steering towards the centre of cell (cx, cy): yaw that corrects the heading error (clamped),
 * whether the heading is good enough to walk, and which way to strafe to get back on the line.
 */
function steer(
  p: PlayerState,
  cx: number,
  cy: number,
): { yaw: number; aligned: boolean; err: number; strafe: number; dist: number } {
  const tx = cx + 0.5 - p.x;
  const ty = cy + 0.5 - p.y;
  const dist = Math.hypot(tx, ty);
  const err = wrapAngle(Math.atan2(ty, tx) - p.angle);
  const dx = Math.cos(p.angle);
  const dy = Math.sin(p.angle);
  // Offset of the target along the camera plane (the "right" direction).
  const lateral = -dy * tx + dx * ty;
  const aligned = Math.abs(err) < 0.3 || dist < 0.2;
  return {
    yaw: err / GAME_TUNING.turnRate,
    aligned,
    err,
    strafe: aligned && dist > 0.3 && Math.abs(lateral) > 0.1 ? Math.sign(lateral) : 0,
    dist,
  };
}

/**
 * Walking into cell (nx, ny) when it is a closed door: face it, `use` it once in reach, wait
 * while it slides. Returns null when the cell is not a closed door (walk normally).
 */
function throughDoor(
  game: Game,
  p: PlayerState,
  nx: number,
  ny: number,
  pitch: number,
  interaction: number,
): Action | null {
  if (cellAt(game.map, nx, ny) !== CELL.door || game.isPassable(nx, ny)) return null;
  const door = game.map.doorIndex[ny * game.map.width + nx];
  const opening = game.state.doors[door].motion === 1;
  const inReach = game.facingDoor() === door;
  const s = steer(p, nx, ny);
  const use = inReach && Math.abs(s.err) < 0.2 && !opening && interaction === INTERACTION_ID.none;
  return action(s.aligned && !inReach ? 1 : 0, 0, 0, 0, s.yaw, pitch, use ? INTERACTION_ID.use : interaction);
}

/** Notices when the player has not moved for a while despite walking. */
class StuckDetector {
  private lastX = Number.NaN;
  private lastY = Number.NaN;
  private still = 0;

  update(p: PlayerState, trying: boolean): boolean {
    const moved = Math.hypot(p.x - this.lastX, p.y - this.lastY) > 0.005;
    this.lastX = p.x;
    this.lastY = p.y;
    this.still = trying && !moved ? this.still + 1 : 0;
    return this.still > 12;
  }
}

class RandomWalker implements Agent {
  readonly name = "random" as const;
  private readonly rng: Rng;
  private keys: [number, number, number, number] = [1, 0, 0, 0];
  private hold = 0;
  private yawDrift = 0;
  private pitchDrift = 0;
  private turnAway = 0;
  private turnFrames = 0;

  constructor(seed: number) {
    this.rng = new Rng((seed ^ 0x72616e64) >>> 0);
  }

  act(game: Game): Action {
    const { rng } = this;
    const p = game.state.player;
    // Bumping into walls wears held keys out faster, so it does not grind along a wall.
    this.hold -= game.events.bumped ? 4 : 1;
    if (this.hold <= 0) {
      const r = rng.next();
      // Mostly forward (sometimes diagonally), but every key gets its share.
      this.keys =
        r < 0.45
          ? [1, 0, 0, 0]
          : r < 0.55
            ? [1, 0, 1, 0]
            : r < 0.65
              ? [1, 0, 0, 1]
              : r < 0.75
                ? [0, 1, 0, 0]
                : r < 0.84
                  ? [0, 0, 1, 0]
                  : r < 0.93
                    ? [0, 0, 0, 1]
                    : [0, 0, 0, 0];
      this.hold = 6 + rng.int(24);
    }
    this.yawDrift = 0.85 * this.yawDrift + 0.15 * rng.normal();
    this.pitchDrift = 0.9 * this.pitchDrift + 0.1 * rng.normal();
    // Facing a wall closer than a cell: keep turning one way until the view ahead opens up.
    const blocked = !game.isPassable(
      Math.floor(p.x + Math.cos(p.angle) * 0.9),
      Math.floor(p.y + Math.sin(p.angle) * 0.9),
    );
    if (blocked && this.turnAway === 0) this.turnAway = rng.next() < 0.5 ? -1 : 1;
    if (!blocked && this.turnAway !== 0 && this.turnFrames-- <= 0) this.turnAway = 0;
    if (blocked) this.turnFrames = 3;
    const yaw = this.turnAway !== 0 ? this.turnAway : this.yawDrift * 0.6;
    const pitch = this.pitchDrift * 0.8 - p.pitch * 0.5;
    const door = game.facingDoor();
    const interaction =
      door >= 0 && rng.next() < 0.15
        ? INTERACTION_ID.use
        : rng.next() < 0.015
          ? INTERACTION_ID.jump
          : rng.next() < 0.005
            ? INTERACTION_ID.use
            : INTERACTION_ID.none;
    const [f, b, l, r] = this.keys;
    return action(f, b, l, r, yaw, pitch, interaction);
  }
}

class WallFollower implements Agent {
  readonly name = "wall" as const;
  private heading = -1;
  private target: [number, number] | null = null;
  private readonly stuck = new StuckDetector();
  private backing = 0;

  act(game: Game): Action {
    const p = game.state.player;
    const cx = Math.floor(p.x);
    const cy = Math.floor(p.y);
    if (this.heading < 0) this.heading = ((Math.round(p.angle / (Math.PI / 2)) % 4) + 4) % 4;
    if (this.backing > 0) {
      this.backing--;
      return action(0, 1, 0, 0, 0, levelPitch(p));
    }
    if (
      this.target === null ||
      (Math.hypot(this.target[0] + 0.5 - p.x, this.target[1] + 0.5 - p.y) < 0.12 &&
        this.target[0] === cx &&
        this.target[1] === cy)
    ) {
      // Right hand on the wall: right, straight, left, back (a door counts as a way through).
      const open = (x: number, y: number) => game.isPassable(x, y) || cellAt(game.map, x, y) === CELL.door;
      const h = [1, 0, 3, 2]
        .map((turn) => (this.heading + turn) % 4)
        .find((d) => open(cx + HEADINGS[d][0], cy + HEADINGS[d][1]));
      if (h === undefined) return action(0, 0, 0, 0, 1, levelPitch(p));
      this.heading = h;
      this.target = [cx + HEADINGS[h][0], cy + HEADINGS[h][1]];
    }
    const door = throughDoor(game, p, this.target[0], this.target[1], levelPitch(p), INTERACTION_ID.none);
    if (door !== null) return door;
    const s = steer(p, this.target[0], this.target[1]);
    if (this.stuck.update(p, s.aligned)) {
      this.backing = 5;
      this.target = [cx, cy];
    }
    return action(s.aligned ? 1 : 0, 0, s.strafe < 0 ? 1 : 0, s.strafe > 0 ? 1 : 0, s.yaw, levelPitch(p));
  }
}

class Explorer implements Agent {
  readonly name = "explorer" as const;
  private readonly rng: Rng;
  private visited: Uint8Array | null = null;
  private path: [number, number][] = [];
  private jumpIn: number;
  private lookIn: number;
  /** Remaining pitch rates of a look up-and-down. */
  private look: number[] = [];
  private readonly stuck = new StuckDetector();
  private backing = 0;

  constructor(seed: number) {
    this.rng = new Rng((seed ^ 0x6578706c) >>> 0);
    this.jumpIn = 30 + this.rng.int(60);
    this.lookIn = 40 + this.rng.int(80);
  }

  /** Breadth-first path to the nearest unvisited cell; doors count as open (it opens them). */
  private plan(game: Game, cx: number, cy: number): [number, number][] {
    const { map } = game;
    const visited = this.visited!;
    const prev = new Int32Array(map.width * map.height).fill(-1);
    const start = cy * map.width + cx;
    prev[start] = start;
    const queue = [start];
    for (let q = 0; q < queue.length; q++) {
      const c = queue[q];
      const x = c % map.width;
      const y = (c - x) / map.width;
      if (c !== start && !visited[c]) {
        const path: [number, number][] = [];
        for (let k = c; k !== start; k = prev[k]) path.push([k % map.width, Math.floor(k / map.width)]);
        return path.reverse();
      }
      for (const d of this.rng.shuffle([0, 1, 2, 3])) {
        const nx = x + HEADINGS[d][0];
        const ny = y + HEADINGS[d][1];
        const cell = cellAt(map, nx, ny);
        const n = ny * map.width + nx;
        if ((cell === CELL.empty || cell === CELL.door) && prev[n] < 0) {
          prev[n] = c;
          queue.push(n);
        }
      }
    }
    return [];
  }

  act(game: Game): Action {
    const p = game.state.player;
    const { map } = game;
    const cx = Math.floor(p.x);
    const cy = Math.floor(p.y);
    this.visited ??= new Uint8Array(map.width * map.height);
    this.visited[cy * map.width + cx] = 1;

    // Looking up and down runs alongside walking.
    if (this.look.length === 0 && --this.lookIn <= 0) {
      const up = this.rng.next() < 0.5 ? 1 : -1;
      this.look = [...Array(8).fill(up), ...Array(16).fill(-up), ...Array(8).fill(up)];
      this.lookIn = 60 + this.rng.int(90);
    }
    const pitch = this.look.length > 0 ? this.look.shift()! : levelPitch(p);
    let interaction = INTERACTION_ID.none;
    if (--this.jumpIn <= 0 && p.z === 0) {
      interaction = INTERACTION_ID.jump;
      this.jumpIn = 40 + this.rng.int(70);
    }
    if (this.backing > 0) {
      this.backing--;
      return action(0, 1, 0, 0, 0, pitch, interaction);
    }

    while (this.path.length > 0 && this.path[0][0] === cx && this.path[0][1] === cy && this.path.length > 1)
      this.path.shift();
    if (this.path.length === 0 || (this.path.length === 1 && this.path[0][0] === cx && this.path[0][1] === cy)) {
      this.path = this.plan(game, cx, cy);
      if (this.path.length === 0) {
        this.visited.fill(0); // seen everything: start a new round
        this.path = this.plan(game, cx, cy);
      }
      if (this.path.length === 0) return action(0, 0, 0, 0, 0.5, pitch, interaction);
    }
    const [nx, ny] = this.path[0];
    const door = throughDoor(game, p, nx, ny, pitch, interaction);
    if (door !== null) return door;
    const s = steer(p, nx, ny);
    if (this.stuck.update(p, s.aligned)) {
      this.backing = 5;
      this.path = [];
    }
    return action(s.aligned ? 1 : 0, 0, s.strafe < 0 ? 1 : 0, s.strafe > 0 ? 1 : 0, s.yaw, pitch, interaction);
  }
}

/**
 * A player whose own actions give way, now and then, to a spell: at `rate` per frame (when no
 * spell runs) `draw` picks an action and how many frames it is held.
 */
class Spells implements Agent {
  private readonly rng: Rng;
  private spell: Action | null = null;
  private left = 0;

  constructor(
    private readonly inner: Agent,
    readonly name: AgentName,
    rngSeed: number,
    private readonly rate: number,
    private readonly draw: (rng: Rng) => { action: Action; frames: number },
  ) {
    this.rng = new Rng(rngSeed >>> 0);
  }

  act(game: Game): Action {
    // The inner player acts every frame so its own plan (and random stream) moves on.
    const planned = this.inner.act(game);
    if (this.left === 0 && this.rng.next() < this.rate) {
      const { action, frames } = this.draw(this.rng);
      this.spell = action;
      this.left = frames;
    }
    if (this.left === 0) return planned;
    this.left--;
    return this.spell!;
  }
}

/** Bursts of 1-3 frames of a random action (see the file comment). */
function jitter(inner: Agent, name: AgentName, seed: number): Agent {
  return new Spells(inner, name, seed ^ 0x6a697474, JITTER_RATE, (rng) => {
    const action = randomAction(rng);
    return { action, frames: 1 + rng.int(3) };
  });
}

/** Idle spells: no key and a still camera for `IDLE_FRAMES` frames, at `IDLE_RATE`. */
function idle(inner: Agent, name: AgentName, seed: number): Agent {
  return new Spells(inner, name, seed ^ 0x69646c65, IDLE_RATE, (rng) => ({
    action: action(0, 0, 0, 0, 0, 0),
    frames: IDLE_FRAMES.min + rng.int(IDLE_FRAMES.max - IDLE_FRAMES.min + 1),
  }));
}

/** A random action: each movement key, a yaw (mostly a full turn), sometimes pitch, use or jump. */
export function randomAction(rng: Rng): Action {
  const key = (p: number) => (rng.next() < p ? 1 : 0);
  const yawChoices = [-1, -1, -0.5, 0, 0.5, 1, 1];
  const yaw = yawChoices[rng.int(yawChoices.length)];
  const pitch = rng.next() < 0.3 ? (rng.next() < 0.5 ? -1 : 1) * (rng.next() < 0.5 ? 0.5 : 1) : 0;
  const r = rng.next();
  const interaction = r < 0.06 ? INTERACTION_ID.use : r < 0.12 ? INTERACTION_ID.jump : INTERACTION_ID.none;
  return action(key(0.4), key(0.2), key(0.2), key(0.2), yaw, pitch, interaction);
}
