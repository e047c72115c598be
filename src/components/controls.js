// Controls: the pages' one button helper (`button`), and the input devices for live play:
// keyboard (KEYMAP of src/lib/actions/schema.ts), gamepads (polled each animation frame) and an
// on-screen touch pad whose buttons are also keyboard-focusable. Each device maps to an action
// (src/lib/actions/schema.ts); the devices held at once are merged with its `combineActions`,
// and `onAction` hears every change.
import {
  KEYMAP,
  KEYMAP_LABELS,
  actionFromGamepad,
  actionFromKeyboard,
  actionFromTouch,
  actionsEqual,
  combineActions,
} from "../lib/actions/index.js";
import { injectStyle } from "./style.js";

const STYLE = `
.touch-pad { display: grid; grid-template-columns: repeat(3, 3.2rem); grid-auto-rows: 3.2rem; gap: 4px; }
.touch-pads { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: start; margin: 0.5rem 0; }
.touch-pad button { font: 600 13px var(--sans-serif, system-ui); border-radius: 6px; border: 1px solid #555; background: #f3f3f3; color: #111; touch-action: none; user-select: none; }
.touch-pad button[aria-pressed="true"] { background: #1d4ed8; color: #fff; }
.touch-pad button:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
.touch-pads h3 { font-size: 13px; margin: 0 0 4px; color: var(--theme-foreground, #1b1e23); }
.keymap { font: 13px var(--sans-serif, system-ui); columns: 2; max-width: 640px; padding-left: 1.2rem; }
.keymap kbd { font: 12px var(--monospace, monospace); border: 1px solid #888; border-radius: 3px; padding: 0 4px; }
`;

function ensureStyle() {
  injectStyle("controls-style", STYLE);
}

/**
 * A `<button type="button">` showing `text` that runs `onClick`. `label`: an accessible name that
 * says more than the text (start it with the visible text, e.g. "Delete: ckpt-3 of run-1").
 */
export function button(text, onClick, { id, label, className, disabled = false } = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (id) b.id = id;
  if (label) b.setAttribute("aria-label", label);
  if (className) b.className = className;
  b.disabled = disabled;
  if (onClick) b.addEventListener("click", onClick);
  return b;
}

const KEY_NAMES = { ArrowUp: "↑", ArrowDown: "↓", ArrowLeft: "←", ArrowRight: "→", Space: "Space", Enter: "Enter" };
const keyName = (code) => KEY_NAMES[code] ?? code.replace(/^Key/, "");

/** The keyboard map as a list, from KEYMAP and KEYMAP_LABELS. */
export function keymapHelp() {
  ensureStyle();
  const list = document.createElement("ul");
  list.className = "keymap";
  for (const [control, codes] of Object.entries(KEYMAP)) {
    const item = document.createElement("li");
    for (const code of codes) {
      const kbd = document.createElement("kbd");
      kbd.textContent = keyName(code);
      item.append(kbd, " ");
    }
    item.append(KEYMAP_LABELS[control]);
    list.append(item);
  }
  return list;
}

// Touch pad buttons: [control, label, glyph, grid cell]. Moving uses the left pad, looking the right.
const MOVE_PAD = [
  ["forward", "Move forward", "W", 2],
  ["left", "Strafe left", "A", 4],
  ["use", "Use (open a door)", "E", 5],
  ["right", "Strafe right", "D", 6],
  ["back", "Move back", "S", 8],
];
const LOOK_PAD = [
  ["pitchUp", "Look up", "▲", 2],
  ["yawLeft", "Turn left", "◀", 4],
  ["jump", "Jump", "⤒", 5],
  ["yawRight", "Turn right", "▶", 6],
  ["pitchDown", "Look down", "▼", 8],
];

function touchPad(title, buttons, held, changed) {
  const wrap = document.createElement("div");
  const heading = document.createElement("h3");
  heading.textContent = title;
  const pad = document.createElement("div");
  pad.className = "touch-pad";
  pad.setAttribute("role", "group");
  pad.setAttribute("aria-label", title);
  for (const [control, label, glyph, cell] of buttons) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = glyph;
    button.setAttribute("aria-label", label);
    button.setAttribute("aria-pressed", "false");
    button.dataset.control = control;
    button.style.gridRow = String(Math.ceil(cell / 3));
    button.style.gridColumn = String(((cell - 1) % 3) + 1);
    const set = (on) => {
      if (held.has(control) === on) return;
      if (on) held.add(control);
      else held.delete(control);
      button.setAttribute("aria-pressed", String(on));
      changed();
    };
    button.addEventListener("pointerdown", (e) => {
      button.setPointerCapture?.(e.pointerId);
      set(true);
    });
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"])
      button.addEventListener(type, () => set(false));
    // Keyboard users hold Enter or Space on a focused button, as a finger holds it.
    button.addEventListener("keydown", (e) => {
      if (e.code === "Enter" || e.code === "Space") {
        e.preventDefault();
        e.stopPropagation();
        set(true);
      }
    });
    button.addEventListener("keyup", (e) => {
      if (e.code === "Enter" || e.code === "Space") {
        e.stopPropagation();
        set(false);
      }
    });
    button.addEventListener("blur", () => set(false));
    pad.append(button);
  }
  wrap.append(heading, pad);
  return wrap;
}

/** Touch pad buttons held -> the unit-square sticks of actions.ts `TouchState`. */
function touchState(held) {
  const axis = (pos, neg) => (held.has(pos) ? 1 : 0) - (held.has(neg) ? 1 : 0);
  return {
    move: [axis("right", "left"), axis("back", "forward")],
    look: [axis("yawRight", "yawLeft"), axis("pitchDown", "pitchUp")],
    use: held.has("use"),
    jump: held.has("jump"),
  };
}

const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA"]);
const MAPPED = new Set(Object.values(KEYMAP).flat());

/**
 * Starts listening. `onAction(action)` is called whenever the combined action changes. Returns
 * `{touchPads, action(), dispose()}`: `touchPads` is an element for the page.
 */
export function createControls({ onAction }) {
  ensureStyle();
  const keys = new Set();
  const touchHeld = new Set();
  let gamepad = null;
  let current = combineActions([]);
  const update = () => {
    const parts = [actionFromKeyboard(keys), actionFromTouch(touchState(touchHeld))];
    if (gamepad) parts.push(gamepad);
    const next = combineActions(parts);
    if (actionsEqual(next, current)) return;
    current = next;
    onAction(current);
  };
  const typing = (e) => TYPING.has(e.target?.tagName) || e.target?.isContentEditable;
  const onKeyDown = (e) => {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey || !MAPPED.has(e.code)) return;
    // Space and Enter on a focused button belong to the button.
    if (e.target?.tagName === "BUTTON" && (e.code === "Space" || e.code === "Enter")) return;
    e.preventDefault();
    keys.add(e.code);
    update();
  };
  const onKeyUp = (e) => {
    if (!keys.delete(e.code)) return;
    update();
  };
  const releaseAll = () => {
    keys.clear();
    update();
  };
  const onVisibility = () => document.hidden && releaseAll();
  window.addEventListener("keydown", onKeyDown);
  window.addEventListener("keyup", onKeyUp);
  window.addEventListener("blur", releaseAll);
  document.addEventListener("visibilitychange", onVisibility);
  let frame = 0;
  const poll = () => {
    const pads = navigator.getGamepads?.() ?? [];
    const pad = Array.from(pads).find((p) => p && p.connected);
    const next = pad
      ? actionFromGamepad({ axes: Array.from(pad.axes), buttons: Array.from(pad.buttons, (b) => b.value) })
      : null;
    if (JSON.stringify(next) !== JSON.stringify(gamepad)) {
      gamepad = next;
      update();
    }
    frame = requestAnimationFrame(poll);
  };
  frame = requestAnimationFrame(poll);
  const touchPads = document.createElement("div");
  touchPads.className = "touch-pads";
  touchPads.append(touchPad("Move", MOVE_PAD, touchHeld, update), touchPad("Look", LOOK_PAD, touchHeld, update));
  return {
    touchPads,
    action: () => current,
    dispose() {
      cancelAnimationFrame(frame);
      window.removeEventListener("keydown", onKeyDown);
      window.removeEventListener("keyup", onKeyUp);
      window.removeEventListener("blur", releaseAll);
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };
}
