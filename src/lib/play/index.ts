/** Play: the world model (frame-by-frame generation), live play sessions, model choice, recording and evaluation. */
export * from "./action-control.js";
export * from "./action-script.js";
export * from "./branches.js";
export * from "./client.js";
export * from "./eval.js";
export * from "./frame-decoder.js";
export * from "./model-choice.js";
export * from "./session.js";
export * from "./standing-still.js";
export * from "./world-model.js";
