// Stands in for "vega-embed" inside the tfjs-vis bundle: the same embed, always with `ast: true`,
// so Vega parses expressions to syntax trees and evaluates them with vega-interpreter (see
// ./vega-with-interpreter.ts) instead of compiling them with `new Function`; and with the SVG
// renderer, so axis labels and legends are text that screen readers (and tests) can read.
import embed from "vega-embed";

type Embed = typeof embed;

export default function embedWithInterpreter(...[element, spec, options]: Parameters<Embed>): ReturnType<Embed> {
  return embed(element, spec, { renderer: "svg", ...(typeof options === "object" ? options : {}), ast: true });
}
