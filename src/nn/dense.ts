import * as tf from "#tfjs-core";

/**
 * Dense (fully connected) layers: `activation(x · W + b)` with W shaped [in, out].
 *
 * `dense` carries its own gradient (tf.customGrad). The stock matMul gradient multiplies
 * by transposed operands (`matMul(dy, W, false, true)`), and the wasm backend only hands a
 * matMul to XNNPACK when neither operand is transposed; otherwise it runs a scalar loop.
 * Here the backward pass transposes explicitly and calls a plain matMul ("xt"), which made
 * wasm updates 1.5–6× faster (docs/training.md, "Tensor backends"). On cpu it changes nothing.
 *
 * The activation is folded into the same op, so its backward pass reuses the saved
 * output instead of recording another tape node.
 */

export type Activation = "linear" | "tanh" | "relu";
export const ACTIVATIONS: readonly Activation[] = ["linear", "tanh", "relu"];

/**
 * How a dense layer computes its gradient: "xt" (explicit transposes, custom gradient),
 * "stock" (tfjs's own ops) or "auto" (xt on wasm, where it is 1.5–3× faster; stock on
 * cpu, where the extra transposes made updates ~10 % slower in bench/nn.ts).
 */
export type DenseMode = "auto" | "xt" | "stock";

type DenseOp = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

function makeDenseXt(activation: Activation): DenseOp {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const y = forwardXt(x, w, b, activation);
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws, ys] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const { dx, dw, db } = denseGrads(dy as tf.Tensor2D, { x: xs, w: ws, y: ys }, activation, true, "xt");
        return [dx as tf.Tensor2D, dw, db];
      },
    };
  });
  return op as DenseOp;
}

function forwardXt(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, activation: Activation): tf.Tensor2D {
  // relu fuses into the matMul kernel; tanh is not a fusable activation in tfjs.
  if (activation === "relu") return tf.fused.matMul({ a: x, b: w, bias: b, activation: "relu" }) as tf.Tensor2D;
  const z = tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
  return activation === "tanh" ? tanh(z) : z;
}

/**
 * tanh that avoids wasm's slow Tanh kernel (~20 ns per element against ~1 ns for
 * Sigmoid, docs/training.md, "Tensor backends"): tanh(z) = 2σ(2z) − 1, four cheap kernels, 3–9× faster on
 * wasm from a few thousand elements up; absolute error ~2e-7. Small tensors and the cpu
 * backend (whose Tanh is fast) keep the plain kernel.
 */
function tanh(z: tf.Tensor2D): tf.Tensor2D {
  if (z.size < WASM_SIGMOID_TANH_MIN_SIZE || tf.getBackend() !== "wasm") return tf.tanh(z);
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(z, 2)), 2), 1);
}

const WASM_SIGMOID_TANH_MIN_SIZE = 2048;

/** dL/dz from dL/dy, where y = act(z), written in terms of the saved output y. */
function activationGrad(dy: tf.Tensor2D, y: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  switch (activation) {
    case "linear":
      return dy;
    case "tanh":
      return tf.mul<tf.Tensor2D>(dy, tf.sub(1, tf.square(y)));
    case "relu":
      // torch's relu gradient: 1 where the output is positive, 0 elsewhere (also at 0).
      return tf.mul<tf.Tensor2D>(dy, tf.step(y));
  }
}

/** What a dense layer's backward pass needs from its forward pass. */
export interface DenseSaved {
  x: tf.Tensor2D;
  w: tf.Tensor2D;
  /** The layer's output, after the activation. */
  y: tf.Tensor2D;
}

/**
 * Backward pass of `y = activation(x · w + b)` without a gradient tape: dL/dx (only when
 * `needDx`; the first layer of a network does not need it), dL/dw and dL/db from dL/dy.
 * "xt" transposes explicitly so every matMul is a plain one (wasm's fast path, see the
 * file comment); "stock" passes transpose flags, which the cpu backend handles for free.
 */
export function denseGrads(
  dy: tf.Tensor2D,
  saved: DenseSaved,
  activation: Activation,
  needDx: boolean,
  mode: DenseMode = "auto",
): { dx: tf.Tensor2D | null; dw: tf.Tensor2D; db: tf.Tensor1D } {
  const dz = activationGrad(dy, saved.y, activation);
  const db = tf.sum<tf.Tensor1D>(dz, 0);
  if (useXt(mode)) {
    const dx = needDx ? tf.matMul<tf.Tensor2D>(dz, tf.transpose(saved.w)) : null;
    return { dx, dw: tf.matMul<tf.Tensor2D>(tf.transpose(saved.x), dz), db };
  }
  const dx = needDx ? tf.matMul<tf.Tensor2D>(dz, saved.w, false, true) : null;
  return { dx, dw: tf.matMul<tf.Tensor2D>(saved.x, dz, true, false), db };
}

/** Forward pass only (no tape node): the same numbers as `dense`, for a hand-written backward. */
export function denseForward(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, activation: Activation = "linear", mode: DenseMode = "auto"): tf.Tensor2D {
  return useXt(mode) ? forwardXt(x, w, b, activation) : denseStock(x, w, b, activation);
}

function useXt(mode: DenseMode): boolean {
  return mode === "xt" || (mode === "auto" && tf.getBackend() === "wasm");
}

function denseStock(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, activation: Activation): tf.Tensor2D {
  const z = tf.add<tf.Tensor2D>(tf.matMul(x, w), b);
  if (activation === "tanh") return tf.tanh(z);
  if (activation === "relu") return tf.relu(z);
  return z;
}

const xtOps: Record<Activation, DenseOp> = {
  linear: makeDenseXt("linear"),
  tanh: makeDenseXt("tanh"),
  relu: makeDenseXt("relu"),
};

/** `activation(x · w + b)`; x [batch, in], w [in, out], b [out]. */
export function dense(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  activation: Activation = "linear",
  mode: DenseMode = "auto",
): tf.Tensor2D {
  return useXt(mode) ? xtOps[activation](x, w, b) : denseStock(x, w, b, activation);
}
