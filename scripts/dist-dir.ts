/** Where the site is built: dist/, or GAMEDREAM_DIST (lets several builds run side by side). */
export const DIST_DIR = process.env.GAMEDREAM_DIST || "dist";
