/**
 * The shell of a data loader that draws a figure from trained weights (the reports page's rollout
 * strip and action branches): without a VAE and a DiT in `dir`, or when the weights cannot be run
 * (an older architecture), it still succeeds with a 1x1 white PNG, which the page reads as
 * "nothing to show", and says why on stderr.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { encodePng } from "./png.node.js";

export async function figureOrPlaceholder(name: string, dir: string, draw: () => Promise<Buffer>): Promise<Buffer> {
  const placeholder = () => encodePng(new Uint8Array([255, 255, 255]), 1, 1);
  if (!existsSync(join(dir, "dit", "model.json")) || !existsSync(join(dir, "vae", "model.json"))) {
    process.stderr.write(
      `${name}: no shipped run yet (${dir} has no vae/model.json and dit/model.json); writing an empty figure\n`,
    );
    return placeholder();
  }
  try {
    return await draw();
  } catch (e) {
    process.stderr.write(
      `${name}: the weights in ${dir} could not be run (${(e as Error).message}); writing an empty figure\n`,
    );
    return placeholder();
  }
}
