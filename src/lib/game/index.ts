/** The built-in game: seeded levels, the raycast renderer and scripted players. */
export * from "./agents.js";
export * from "./game.js";
export * from "./map.js";
export * from "./render.js";
export * from "./textures.js";
