// Every unit test file starts with the Node backend chosen the way the CLI chooses it (wasm
// unless GAMEDREAM_BACKEND says otherwise), so tests exercise the kernels users run.
import { beforeAll } from "vitest";
import { initBackend } from "../src/lib/core/index.js";

beforeAll(async () => {
  await initBackend();
});
