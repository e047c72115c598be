// Worker entry: video decoding and resizing off the page's thread (src/lib/video/worker.browser.ts).
// Bundled to src/assets/workers/ingest.js by scripts/prepare-site.ts.
import { serveIngestWorker } from "../lib/video/browser.js";

serveIngestWorker(self as unknown as Parameters<typeof serveIngestWorker>[0]);
