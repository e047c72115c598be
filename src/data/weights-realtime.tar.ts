/**
 * Data loader: the pretrained realtime weights shipped with the site, as one tar archive of every
 * file in weights/realtime/ (model.json, its shards, sidecars); src/components/weights.js loads it.
 * One archive rather than loose files because Framework copies only files a page names, and the
 * shard names depend on the model's size; a loader rather than a copied file because it always
 * exists: without weights/realtime/model.json it is an empty archive and pages offer no shipped
 * model. Being a file of the built site, the service worker caches it for offline play.
 * Run alone: `npx tsx src/data/weights-realtime.tar.ts > /tmp/w.tar`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeTar } from "../lib/tar.js";

const dir = "weights/realtime";
const files = new Map<string, Uint8Array>();
if (existsSync(join(dir, "model.json"))) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isFile()) files.set(name, readFileSync(path));
  }
}
process.stdout.write(writeTar(files));
