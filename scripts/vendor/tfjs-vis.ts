// Entry of src/vendor/tfjs-vis.js (built by scripts/prepare-site.ts): the tfjs-vis renderers the
// pages draw with. tfjs-vis draws through vega-embed, whose Vega expressions are compiled with
// `new Function` unless vega-embed is asked for an AST and handed an interpreter; the bundle
// routes tfjs-vis's vega-embed through ./vega-embed-ast.ts so the charts run under the site's
// Content Security Policy without 'unsafe-eval'.
export { linechart } from "@tensorflow/tfjs-vis/dist/render/linechart.js";
