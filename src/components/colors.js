// Colours shared by the charts of several pages.

/** One colour per run, readable on light and dark backgrounds (contrast >= 3:1 against both). */
export const RUN_COLORS = ["#2563eb", "#c2410c", "#15803d", "#9333ea", "#0e7490"];
