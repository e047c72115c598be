/**
 * Data loader: the pretrained realtime weights shipped with the site, as one tar archive of every
 * file in weights/realtime/ (`vae/` and `dit/` weights manifests with their shards, report.json),
 * paths relative to that folder; the play worker reads it with src/lib/models/loader.ts.
 * One archive rather than loose files because Framework copies only files a page names, and the
 * shard names depend on the model's size; a loader rather than a copied file because it always
 * exists: without weights/realtime/{vae,dit}/model.json it is an empty archive and pages offer no
 * shipped model. Being a file of the built site, the service worker caches it for offline play.
 * Run alone: `npx tsx src/data/weights-realtime.tar.ts > /tmp/w.tar`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeTar } from "../lib/storage/index.js";

const dir = "weights/realtime";
const files = new Map<string, Uint8Array>();

function addFolder(relative: string): void {
  for (const name of readdirSync(join(dir, relative)).sort()) {
    const path = relative ? `${relative}/${name}` : name;
    if (statSync(join(dir, path)).isDirectory()) addFolder(path);
    else files.set(path, readFileSync(join(dir, path)));
  }
}
if (existsSync(join(dir, "vae", "model.json")) && existsSync(join(dir, "dit", "model.json"))) addFolder("");
process.stdout.write(writeTar(files));
