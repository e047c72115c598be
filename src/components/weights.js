// The pretrained realtime weights shipped with the site: src/data/weights-realtime.tar.ts packs
// weights/realtime/ into one archive at build time (an empty one when there are none). It is a
// file of the site like any other, so the service worker caches it and live play works offline
// after the first visit.
import { FileAttachment } from "observablehq:stdlib";

const archive = FileAttachment("../data/weights-realtime.tar");

/** An empty tar is two zero blocks: anything larger holds files. */
export const shippedWeightsAvailable = archive.size > 1024;

/**
 * URL of the archive (a tar of weights/realtime/: vae/ and dit/ manifests and shards), for the
 * play worker, which verifies every shard's SHA-256 as it loads them (src/lib/models/loader.ts).
 */
export const shippedWeightsUrl = archive.href;
