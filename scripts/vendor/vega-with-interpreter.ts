// Stands in for "vega" inside vega-embed: Vega 5.20 itself does not export the expression
// interpreter that vega-embed hands to the View when `ast` is on, so add it from vega-interpreter.
export * from "vega";
export { expressionInterpreter } from "vega-interpreter";
