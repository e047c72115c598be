// Observable Framework configuration. Everything the site needs is served from the site itself:
// no Google Fonts (globalStylesheets: []), no CDN (pages import installed packages by bare name
// and scripts/check-dist.ts fails the build if a remote URL slips into dist/).
export default {
  root: "src",
  // GAMEDREAM_DIST lets a second build run beside dist/ (scripts/dist-dir.ts).
  output: process.env.GAMEDREAM_DIST || "dist",
  title: "gamedream",
  pages: [
    { name: "Play the world model", path: "/pages/play" },
    { name: "Data exploration", path: "/pages/data" },
    { name: "Training", path: "/pages/train" },
    { name: "Noise schedules", path: "/pages/noise-schedules" },
    { name: "Attention maps", path: "/pages/attention" },
    { name: "Reports", path: "/pages/reports" },
    { name: "Benchmarks", path: "/pages/benchmarks" },
    {
      name: "This device",
      pages: [
        { name: "Device and presets", path: "/pages/device" },
        { name: "Storage", path: "/pages/storage" },
        { name: "Privacy", path: "/pages/privacy" },
      ],
    },
  ],
  globalStylesheets: [],
  // Links end in .html so any plain static server can host dist/.
  preserveExtension: true,
  search: false,
  footer: "gamedream: world models of games, trained and played in the browser. Everything runs on this device.",
  head: `<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,"><style>
#observablehq-footer { color: var(--theme-foreground); }
#observablehq-sidebar .observablehq-link a, #observablehq-sidebar .observablehq-link-active a, #observablehq-sidebar summary, #observablehq-toc, #observablehq-toc .observablehq-secondary-link a { color: var(--theme-foreground); }
#observablehq-sidebar .observablehq-link-active a { font-weight: 700; text-decoration: underline; }
#observablehq-main p a, #observablehq-main li a { text-decoration: underline; }
#observablehq-main table { display: block; max-width: 100%; overflow-x: auto; }
#observablehq-main figcaption { color: var(--theme-foreground); }
#observablehq-main canvas { max-width: 100%; height: auto !important; }
</style>
<script>
// Tables scroll sideways on narrow screens; keyboard users need to be able to focus them to scroll.
new MutationObserver(() => { for (const t of document.querySelectorAll("#observablehq-main table:not([tabindex])")) t.tabIndex = 0; })
  .observe(document.documentElement, { childList: true, subtree: true });
</script>`,
};
