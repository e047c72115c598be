/**
 * The few tensor ops the VAE is built from, written so that training works and stays fast on the
 * tfjs wasm backend (measured with tfjs 4.22, Node, 1 thread):
 *
 * - `Conv2DBackpropFilter` is not registered on wasm, so `tf.grad` of `tf.conv2d` with respect to
 *   its filter throws. `Conv2DBackpropInput` exists but ran 5-14x slower than the forward conv
 *   (166 ms vs 23 ms for [4,64,64,32] 3x3 32->32). `conv2dSame` therefore carries its own gradient,
 *   made only of forward convolutions (XNNPACK) and plain matMuls:
 *     dx = conv(dy, filter rotated 180 degrees with in/out channels swapped)   (stride 1, "same")
 *     dw = conv(x^T, dy^T) with the batch as the contracted channel axis, i.e. for each kernel tap
 *          sum_{b,y,x} xpad[b, y+i, x+j, ci] * dy[b, y, x, co]; ~20 ms for the shape above, equal
 *          to the Conv3DBackpropFilter route (1080 ms) within 5e-6 relative.
 * Pixel (un)shuffle and SiLU come from ../nn/ops.ts (`tf.depthToSpace` has no gradient and is
 * 4x slower on wasm).
 */
import * as tf from "@tensorflow/tfjs";
import { recordingGradients } from "../nn/index.js";

/** Kernel of the filter gradient: x [B,H,W,ci] (already padded), dy [B,Ho,Wo,co] -> [k,k,ci,co]. */
function filterGradient(xPadded: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  const [b, h, w, ci] = xPadded.shape;
  const co = dy.shape[3];
  if (k === 1) {
    // Explicit transpose + plain matMul: the transposeA flag is 10-20x slower on wasm.
    const xt = tf.transpose(xPadded.reshape([b * h * w, ci]));
    return tf.matMul(xt, dy.reshape([b * h * w, co])).reshape([1, 1, ci, co]);
  }
  // Channels become the batch and the batch becomes the channel: [ci,H,W,B] conv [Ho,Wo,B,co].
  const xs = tf.transpose(xPadded, [3, 1, 2, 0]) as tf.Tensor4D;
  const dys = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const g = tf.conv2d(xs, dys, 1, "valid"); // [ci, k, k, co]
  return tf.transpose(g, [1, 2, 0, 3]);
}

const conv2dSameOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, w, b, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  const value = tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: "same" });
  const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] => {
    const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
    const k = ws.shape[0];
    const p = (k - 1) / 2;
    const flipped = k === 1 ? ws : tf.reverse(ws, [0, 1]);
    const dx = tf.conv2d(dy, tf.transpose(flipped, [0, 1, 3, 2]) as tf.Tensor4D, 1, "same");
    const xPadded =
      p === 0
        ? xs
        : tf.pad(xs, [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ]);
    const dw = filterGradient(xPadded, dy, k);
    const db = tf.sum(dy, [0, 1, 2]);
    return [dx, dw, db];
  };
  return { value, gradFunc };
});

/**
 * 2D convolution, stride 1, "same" padding, odd square kernel, with bias and an optional sigmoid;
 * differentiable on wasm. x [B,H,W,ci], w [k,k,ci,co] (tfjs layout), b [co] -> [B,H,W,co].
 * Without a gradient tape it is one fused kernel: the custom gradient would clone its inputs and
 * the sigmoid would be another pass over the output.
 */
export function conv2dSame(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  activation: "linear" | "sigmoid" = "linear",
): tf.Tensor4D {
  if (!recordingGradients()) return tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: "same", activation });
  const y = conv2dSameOp(x, w, b) as tf.Tensor4D;
  return activation === "sigmoid" ? tf.tidy(() => tf.sigmoid(y)) : y;
}
