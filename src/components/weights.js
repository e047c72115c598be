// The pretrained realtime weights shipped with the site: src/data/weights-realtime.tar.ts packs
// weights/realtime/ into one archive at build time (an empty one when there are none). It is a
// file of the site like any other, so the service worker caches it and live play works offline
// after the first visit.
import {FileAttachment} from "observablehq:stdlib";
import {decodeTfjsWeights} from "../lib/storage/tfjs-manifest.js";
import {readTar} from "../lib/tar.js";

const archive = FileAttachment("../data/weights-realtime.tar");

/** An empty tar is two zero blocks: anything larger holds files. */
export const shippedWeightsAvailable = archive.size > 1024;

/** URL of the archive, for pages that list what is cached. */
export const shippedWeightsUrl = archive.href;

/**
 * The shipped weights, verified against their SHA-256s: `{weights, info, files}` where `weights` is
 * a Map of new tensors (the caller disposes them), `info` the manifest's gamedream section
 * (config, step) and `files` every file of the archive; null when the build has none.
 */
export async function loadShippedWeights() {
  const files = readTar(new Uint8Array(await archive.arrayBuffer()), "The shipped weights");
  if (!files.has("model.json")) return null;
  const modelJson = JSON.parse(new TextDecoder().decode(files.get("model.json")));
  const {weights, info} = await decodeTfjsWeights(modelJson, async (path) => {
    const bytes = files.get(path);
    if (!bytes) throw new Error(`the shipped weights lack ${path}`);
    return bytes;
  }, {requireChecksums: true, source: "The shipped weights"});
  return {weights, info, files};
}
