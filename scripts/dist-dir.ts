/** Where the site is built: dist/, or GAMEDREAM_DIST (lets several builds run side by side). */
export const DIST_DIR = process.env.GAMEDREAM_DIST || "dist";

/**
 * Pages that exist only for the browser tests (src/pages/tests/, e.g. train-idb.md). Framework
 * builds them with the site; scripts/finish-dist.ts moves them out of it into this folder beside
 * it, so the published site holds no test page, and the test harness (test/e2e/run.ts) serves
 * them at their usual paths (/pages/tests/...) from here.
 */
export const TEST_PAGES_DIR = `${DIST_DIR.replace(/[\\/]+$/, "")}-test-pages`;

/** Where test pages sit inside a build, relative to its root. */
export const TEST_PAGES_PATH = "pages/tests";
