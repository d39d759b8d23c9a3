/**
 * The builder's op set. Each op emits ONNX nodes, infers its output shape, and records its vector-Jacobian
 * rule on the graph's tape, next to the forward definition (as in micrograd / tinygrad). The rules are
 * written in the same ops, so a backward pass is an ordinary graph that onnxruntime optimises like any other.
 * `tests/backend/vjp.test.ts` checks every rule against finite differences.
 */
import { ONNX_TYPE, type Dim, type ElemType, type Graph, type Value } from './graph.ts';

// ---------------------------------------------------------------- shapes

export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || x === y) out.push(x);
    // Two symbolic dims: assume they agree at run time (onnxruntime checks); a number is more specific.
    else if (typeof x === 'string') out.push(typeof y === 'string' ? x : y);
    else if (typeof y === 'string') out.push(x);
    else throw new Error(`cannot broadcast [${a}] with [${b}]`);
  }
  return out;
}

function isStatic(shape: readonly Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Sums a broadcast gradient back down to `shape` (the inverse of numpy broadcasting). */
export function sumTo(g: Graph, grad: Value, shape: readonly Dim[]): Value {
  const lead = grad.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.shape.length; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && grad.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return grad;
  const summed = reduceSum(g, grad, axes, true);
  return lead > 0 ? reshape(g, summed, [...shape]) : summed;
}

// ---------------------------------------------------------------- element-wise

function binary(
  op: string,
  shapeOf: (a: Value, b: Value) => Dim[],
  rule: (g: Graph, a: Value, b: Value, y: Value, gy: Value) => [Value | null, Value | null],
) {
  return (g: Graph, a: Value, b: Value): Value => {
    const [y] = g.node(op, [a, b], [{ type: a.type, shape: shapeOf(a, b) }]);
    g.record({
      inputs: [a, b],
      outputs: [y],
      vjp: (g2, [gy], need) => {
        const [ga, gb] = rule(g2, a, b, y, gy!);
        return [need[0] && ga ? sumTo(g2, ga, a.shape) : null, need[1] && gb ? sumTo(g2, gb, b.shape) : null];
      },
    });
    return y;
  };
}

const bshape = (a: Value, b: Value) => broadcastShapes(a.shape, b.shape);

export const add = binary('Add', bshape, (_g, _a, _b, _y, gy) => [gy, gy]);
export const sub = binary('Sub', bshape, (g, _a, _b, _y, gy) => [gy, neg(g, gy)]);
export const mul = binary('Mul', bshape, (g, a, b, _y, gy) => [mul(g, gy, b), mul(g, gy, a)]);
export const div = binary('Div', bshape, (g, _a, b, y, gy) => {
  const ga = div(g, gy, b);
  return [ga, neg(g, mul(g, ga, y))];
});

function unary(op: string, rule: (g: Graph, x: Value, y: Value, gy: Value) => Value) {
  return (g: Graph, x: Value): Value => {
    const [y] = g.node(op, [x], [{ type: x.type, shape: x.shape }]);
    g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [rule(g2, x, y, gy!)] });
    return y;
  };
}

export const neg = unary('Neg', (g, _x, _y, gy) => neg(g, gy));
export const exp = unary('Exp', (g, _x, y, gy) => mul(g, gy, y));
export const sqrt = unary('Sqrt', (g, _x, y, gy) => div(g, gy, mul(g, y, g.scalar(2))));
export const reciprocal = unary('Reciprocal', (g, _x, y, gy) => neg(g, mul(g, gy, mul(g, y, y))));
export const sigmoid = unary('Sigmoid', (g, _x, y, gy) => mul(g, gy, mul(g, y, sub(g, g.scalar(1), y))));

// ---------------------------------------------------------------- shape ops

export function transpose(g: Graph, x: Value, perm: number[]): Value {
  const [y] = g.node('Transpose', [x], [{ type: x.type, shape: perm.map((p) => x.shape[p]) }], { perm });
  const inverse = perm.map((_, i) => perm.indexOf(i));
  g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [transpose(g2, gy!, inverse)] });
  return y;
}

/** Swaps the last two axes (a matrix transpose of every matrix in a batch). */
export function transposeLast2(g: Graph, x: Value): Value {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return transpose(g, x, perm);
}

/**
 * Reshape to `shape`, whose entries are sizes, 0 (keep that input dim) or -1 (infer, at most one); symbolic dims
 * pass through by name. The ONNX shape tensor uses 0 for every symbolic dim kept at its input position.
 */
export function reshape(g: Graph, x: Value, shape: Dim[]): Value {
  const spec = shape.map((d, i) => (typeof d === 'string' ? (x.shape[i] === d ? 0 : -1) : d));
  const outShape: Dim[] = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const infer = outShape.indexOf(-1);
  if (infer >= 0) {
    const known = outShape.filter((_, i) => i !== infer);
    outShape[infer] =
      isStatic(x.shape) && isStatic(known) ? x.shape.reduce((a, b) => a * b, 1) / known.reduce((a, b) => a * b, 1) : `${x.name}_d${infer}`;
  }
  if (spec.filter((d) => d === -1).length > 1) throw new Error(`reshape of ${x.name} to [${shape}] leaves more than one dim to infer`);
  const [y] = g.node('Reshape', [x, g.ints(spec)], [{ type: x.type, shape: outShape }]);
  g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [reshapeLike(g2, gy!, x)] });
  return y;
}

/** Reshape `x` to the (possibly dynamic) shape of `like`. */
export function reshapeLike(g: Graph, x: Value, like: Value): Value {
  if (isStatic(like.shape)) return reshape(g, x, [...like.shape]);
  const [s] = g.node('Shape', [like], [{ type: 'int64', shape: [like.shape.length] }]);
  const [y] = g.node('Reshape', [x, s], [{ type: x.type, shape: like.shape }]);
  g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [reshapeLike(g2, gy!, x)] });
  return y;
}

export function unsqueeze(g: Graph, x: Value, axes: number[]): Value {
  const rank = x.shape.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank));
  const shape: Dim[] = [];
  for (let i = 0, j = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]);
  const [y] = g.node('Unsqueeze', [x, g.ints(norm)], [{ type: x.type, shape }]);
  g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [reshapeLike(g2, gy!, x)] });
  return y;
}

/** Removes the given axes of size 1. */
export function squeeze(g: Graph, x: Value, axes: number[]): Value {
  const norm = axes.map((a) => normAxis(a, x.shape.length));
  const [y] = g.node('Squeeze', [x, g.ints(norm)], [{ type: x.type, shape: x.shape.filter((_, i) => !norm.includes(i)) }]);
  g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [reshapeLike(g2, gy!, x)] });
  return y;
}

export function concat(g: Graph, xs: Value[], axis: number): Value {
  const ax = normAxis(axis, xs[0].shape.length);
  const sizes = xs.map((x) => x.shape[ax]);
  const total: Dim = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : `${xs[0].name}_cat${ax}`;
  const shape = xs[0].shape.map((d, i) => (i === ax ? total : d));
  const [y] = g.node('Concat', xs, [{ type: xs[0].type, shape }], { axis: ax });
  g.record({
    inputs: xs,
    outputs: [y],
    vjp: (g2, [gy], need) => {
      const parts = split(
        g2,
        gy!,
        ax,
        xs.map((value) => ({ value, axis: ax })),
      );
      return parts.map((p, i) => (need[i] ? p : null));
    },
  });
  return y;
}

/**
 * Splits `x` along `axis` into pieces as long as `sizes[i].value` is along `sizes[i].axis` (read at run time
 * when that length is symbolic).
 */
export function split(g: Graph, x: Value, axis: number, sizes: { value: Value; axis: number }[]): Value[] {
  const ax = normAxis(axis, x.shape.length);
  const lengths = sizes.map(({ value, axis: a }) => value.shape[normAxis(a, value.shape.length)]);
  let splitInput: Value;
  if (lengths.every((s) => typeof s === 'number')) splitInput = g.ints(lengths as number[]);
  else {
    const parts = sizes.map(({ value, axis: a }) => {
      const at = normAxis(a, value.shape.length);
      return g.node('Shape', [value], [{ type: 'int64', shape: [1] }], { start: at, end: at + 1 })[0];
    });
    [splitInput] = g.node('Concat', parts, [{ type: 'int64', shape: [sizes.length] }], { axis: 0 });
  }
  const outs = g.node(
    'Split',
    [x, splitInput],
    lengths.map((len) => ({ type: x.type, shape: x.shape.map((d, i) => (i === ax ? len : d)) })),
    { axis: ax },
  );
  g.record({
    inputs: [x],
    outputs: outs,
    vjp: (g2, grads) => [
      concat(
        g2,
        grads.map((gr, i) => gr ?? zerosLike(g2, outs[i])),
        ax,
      ),
    ],
  });
  return outs;
}

/** Splits `x` along `axis` into `n` equal pieces (its length there may be symbolic; inference only: no vjp). */
export function splitEqual(g: Graph, x: Value, axis: number, n: number): Value[] {
  const ax = normAxis(axis, x.shape.length);
  const len = x.shape[ax];
  const piece = typeof len === 'number' ? len / n : `${x.name}_split${n}`;
  return g.node(
    'Split',
    [x],
    Array.from({ length: n }, () => ({ type: x.type, shape: x.shape.map((d, i) => (i === ax ? piece : d)) })),
    { axis: ax },
  );
}

/** Splits `x` along `axis` into pieces of the given fixed lengths. */
export function splitLengths(g: Graph, x: Value, axis: number, lengths: number[]): Value[] {
  return split(
    g,
    x,
    axis,
    lengths.map((n) => ({ value: { name: `length_${n}`, type: 'int64' as const, shape: [n] }, axis: 0 })),
  );
}

export function zerosLike(g: Graph, x: Value): Value {
  return mul(g, x, g.scalar(0));
}

// ---------------------------------------------------------------- reductions

export function reduceSum(g: Graph, x: Value, axes: number[], keepdims: boolean): Value {
  const norm = axes.map((a) => normAxis(a, x.shape.length));
  const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
  const [y] = g.node('ReduceSum', [x, g.ints(norm)], [{ type: x.type, shape }], { keepdims: keepdims ? 1 : 0 });
  g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [expandLike(g2, keepdims ? gy! : unsqueeze(g2, gy!, norm), x)] });
  return y;
}

export function reduceMean(g: Graph, x: Value, axes: number[], keepdims: boolean): Value {
  const norm = axes.map((a) => normAxis(a, x.shape.length));
  const count = norm.map((a) => x.shape[a]);
  if (!isStatic(count)) throw new Error(`reduceMean over symbolic axes of ${x.name}`);
  const n = count.reduce((a, b) => a * b, 1);
  const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
  const [y] = g.node('ReduceMean', [x], [{ type: x.type, shape }], { axes: norm, keepdims: keepdims ? 1 : 0 });
  g.record({
    inputs: [x],
    outputs: [y],
    vjp: (g2, [gy]) => [expandLike(g2, mul(g2, keepdims ? gy! : unsqueeze(g2, gy!, norm), g2.scalar(1 / n)), x)],
  });
  return y;
}

/** Broadcasts `x` up to the shape of `like` (Expand with like's run-time shape). */
export function expandLike(g: Graph, x: Value, like: Value): Value {
  const shapeTensor = isStatic(like.shape)
    ? g.ints(like.shape)
    : g.node('Shape', [like], [{ type: 'int64', shape: [like.shape.length] }])[0];
  const [y] = g.node('Expand', [x, shapeTensor], [{ type: x.type, shape: like.shape }]);
  g.record({ inputs: [x], outputs: [y], vjp: (g2, [gy]) => [sumTo(g2, gy!, x.shape)] });
  return y;
}

// ---------------------------------------------------------------- linear algebra

/** Batched matrix product with numpy broadcasting over leading axes. */
export function matmul(g: Graph, a: Value, b: Value): Value {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) throw new Error('matmul needs rank >= 2 operands');
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, a.shape[ra - 2], b.shape[rb - 1]];
  const [y] = g.node('MatMul', [a, b], [{ type: a.type, shape }]);
  g.record({
    inputs: [a, b],
    outputs: [y],
    vjp: (g2, [gy], need) => {
      const ga = need[0] ? sumTo(g2, matmul(g2, gy!, transposeLast2(g2, b)), a.shape) : null;
      let gb: Value | null = null;
      if (need[1]) {
        if (rb === 2 && ra > 2) {
          // A weight shared across the batch: one GEMM over all rows instead of a batch of small ones plus a sum.
          const a2 = reshape(g2, a, [-1, a.shape[ra - 1]]);
          const gy2 = reshape(g2, gy!, [-1, b.shape[1]]);
          gb = matmul(g2, transposeLast2(g2, a2), gy2);
        } else gb = sumTo(g2, matmul(g2, transposeLast2(g2, a), gy!), b.shape);
      }
      return [ga, gb];
    },
  });
  return y;
}

/** x·Wᵀ (+ bias), with W stored [out, in] as in PyTorch's nn.Linear. */
export function linear(g: Graph, x: Value, w: Value, bias?: Value): Value {
  const y = matmul(g, x, transposeLast2(g, w));
  return bias ? add(g, y, bias) : y;
}

/**
 * A weight W [N, K] quantized group-wise along K, held as the inputs of onnxruntime's com.microsoft MatMulNBits
 * (the layout gpu-backend/lowrank/quantize-matrix.ts writes): codes B [N, n_blocks, blob], scales, and zero
 * points when asymmetric.
 */
export interface NBitsWeight {
  kind: 'nbits';
  qweight: Value;
  scales: Value;
  zeroPoints?: Value;
  n: number;
  k: number;
  bits: 4 | 8;
  blockSize: number;
  /** MatMulNBits accuracy_level: 4 quantizes activations to int8 per block (onnxruntime's fast CPU path), 0 keeps them float32. */
  accuracyLevel: 0 | 4;
}

/** A projection's weight: float32 [out, in], or quantized. */
export type LinearWeight = Value | NBitsWeight;

export const isNBits = (w: LinearWeight): w is NBitsWeight => (w as NBitsWeight).kind === 'nbits';

/**
 * x·dequant(W)ᵀ through MatMulNBits. Inference only: it records no gradient rule (training graphs take float32
 * weights).
 */
export function matmulNBits(g: Graph, x: Value, w: NBitsWeight): Value {
  const inputs = [x, w.qweight, w.scales, ...(w.zeroPoints ? [w.zeroPoints] : [])];
  const attrs = { K: w.k, N: w.n, bits: w.bits, block_size: w.blockSize, accuracy_level: w.accuracyLevel };
  const shape = [...x.shape.slice(0, -1), w.n];
  return g.node('MatMulNBits', inputs, [{ type: x.type, shape }], attrs, { domain: 'com.microsoft' })[0];
}

/** `linear` over either kind of weight. */
export function linearAny(g: Graph, x: Value, w: LinearWeight, bias?: Value): Value {
  if (!isNBits(w)) return linear(g, x, w, bias);
  const y = matmulNBits(g, x, w);
  return bias ? add(g, y, bias) : y;
}

// ---------------------------------------------------------------- normalisation and activations

export function softmax(g: Graph, x: Value, axis = -1): Value {
  const ax = normAxis(axis, x.shape.length);
  const [y] = g.node('Softmax', [x], [{ type: x.type, shape: x.shape }], { axis: ax });
  g.record({
    inputs: [x],
    outputs: [y],
    vjp: (g2, [gy]) => [mul(g2, y, sub(g2, gy!, reduceSum(g2, mul(g2, gy!, y), [ax], true)))],
  });
  return y;
}

/** LlamaRMSNorm: x / sqrt(mean(x²) + eps) · w, computed in float32 as transformers does. */
export function rmsNorm(g: Graph, x: Value, w: Value, eps: number): Value {
  const variance = reduceMean(g, mul(g, x, x), [-1], true);
  const inv = reciprocal(g, sqrt(g, add(g, variance, g.scalar(eps))));
  return mul(g, w, mul(g, x, inv));
}

/**
 * rmsNorm as one node: onnxruntime's SimplifiedLayerNormalization (a contrib op it registers in the ONNX domain, with
 * CPU and WebGPU kernels), for serving. It computes the same x / sqrt(mean(x²) + eps) · w in float32 and records no
 * gradient rule; the six nodes of `rmsNorm` cost a decode step more in per-node overhead than in arithmetic.
 */
export function rmsNormServing(g: Graph, x: Value, w: Value, eps: number): Value {
  return g.node('SimplifiedLayerNormalization', [x, w], [{ type: x.type, shape: x.shape }], { axis: -1, epsilon: { float: eps } })[0];
}

export function silu(g: Graph, x: Value): Value {
  return mul(g, x, sigmoid(g, x));
}

// ---------------------------------------------------------------- non-differentiable helpers

export function cast(g: Graph, x: Value, to: ElemType): Value {
  return g.node('Cast', [x], [{ type: to, shape: x.shape }], { to: ONNX_TYPE[to] })[0];
}

/** Rows of `table` at `indices` (embedding lookup). Gradients do not flow into the table through this op. */
export function gather(g: Graph, table: Value, indices: Value): Value {
  return g.node('Gather', [table, indices], [{ type: table.type, shape: [...indices.shape, ...table.shape.slice(1)] }], { axis: 0 })[0];
}

/** Per-row gather: data [B, T, ...], indices [B, N] -> [B, N, ...] (GatherND with one batch axis). */
export function gatherRows(g: Graph, data: Value, indices: Value): Value {
  const idx = unsqueeze(g, indices, [-1]);
  return g.node('GatherND', [data, idx], [{ type: data.type, shape: [data.shape[0], indices.shape[1], ...data.shape.slice(2)] }], {
    batch_dims: 1,
  })[0];
}

// ---------------------------------------------------------------- loss

/**
 * Σᵢ wᵢ · (−log softmax(zᵢ)[yᵢ]) over rows i of logits z [N, V], labels y [N] (int64), weights w [N].
 * Weights carry both the ignore mask and the 1/count normalisation, so padded or prompt positions cost nothing
 * and gradient accumulation over micro-batches sums exactly. The rule uses ∂/∂z = (softmax(z) − onehot(y))·w.
 * Log-softmax is written out (z − max − log Σ exp(z − max)) and the one-hot subtracted by a scatter at the labels,
 * not with LogSoftmax and OneHot: onnxruntime's WebGPU provider has neither, and each would send [N, V] logits
 * to the CPU and back on every training step.
 */
export function weightedCrossEntropy(g: Graph, logits: Value, labels: Value, weights: Value): Value {
  const [n, v] = logits.shape;
  const { logp, loss, at } = g.untaped(() => {
    const max = g.node('ReduceMax', [logits], [{ type: logits.type, shape: [n, 1] }], { axes: [1], keepdims: 1 })[0];
    const shifted = sub(g, logits, max);
    const logSum = g.node('Log', [reduceSum(g, exp(g, shifted), [1], true)], [{ type: logits.type, shape: [n, 1] }])[0];
    const logp = sub(g, shifted, logSum);
    const at = unsqueeze(g, labels, [1]);
    const picked = g.node('GatherElements', [logp, at], [{ type: logits.type, shape: [n, 1] }], { axis: 1 })[0];
    const nll = neg(g, reshape(g, picked, [n]));
    const loss = g.node('ReduceSum', [mul(g, nll, weights), g.ints([0])], [{ type: logits.type, shape: [] }], { keepdims: 0 })[0];
    return { logp, loss, at };
  });
  g.record({
    inputs: [logits, labels, weights],
    outputs: [loss],
    vjp: (g2, [gl]) => {
      const scaled = mul(g2, unsqueeze(g2, weights, [1]), gl!);
      const probs = mul(g2, exp(g2, logp), scaled);
      // (p − onehot)·s: p·s everywhere, and p_y·s − s written over the label's column.
      const atLabel = g2.node('GatherElements', [probs, at], [{ type: logits.type, shape: [n, 1] }], { axis: 1 })[0];
      const dz = g2.node('ScatterElements', [probs, at, sub(g2, atLabel, scaled)], [{ type: logits.type, shape: [n, v] }], { axis: 1 })[0];
      return [dz, null, null];
    },
  });
  return loss;
}
