/**
 * Every vector-Jacobian rule of the builder, checked against central finite differences. Graphs are built in
 * float64 so the check is tight (the rules are the same code the float32 engine uses).
 */
import { describe, expect, test } from 'vitest';
import { backward } from '../../gpu-backend/engine/autodiff.ts';
import { Graph, type Value } from '../../gpu-backend/engine/graph.ts';
import { decoderLayer, type LayerWeights } from '../../gpu-backend/engine/llama.ts';
import * as ops from '../../gpu-backend/engine/ops.ts';
import { createSession, ort } from '../../gpu-backend/engine/runtime.ts';
import { parseModelConfig, PROJECTIONS, projectionShape, type Projection } from '../../contracts/formats/hf-config.ts';
import { rng } from '../../gpu-backend/engine/sampling.ts';

interface Case {
  /** Differentiable inputs (float64) with their shapes. */
  inputs: Record<string, number[]>;
  /** Extra non-differentiable inputs (ints, masks) with values. */
  fixed?: Record<string, ort.Tensor>;
  /** Builds the output from the inputs; the check projects it to a scalar with fixed random weights. */
  build: (g: Graph, x: Record<string, Value>) => Value;
  /** Value range of the random inputs (e.g. positive for sqrt). */
  positive?: boolean;
}

async function checkGradients({ inputs, fixed = {}, build, positive }: Case): Promise<void> {
  const g = new Graph('vjp-test', 'float64');
  const values: Record<string, Value> = {};
  for (const [name, shape] of Object.entries(inputs)) values[name] = g.input(name, 'float64', shape);
  for (const [name, t] of Object.entries(fixed)) values[name] = g.input(name, t.type === 'int64' ? 'int64' : 'float64', [...t.dims]);
  const y = build(g, values);
  const ySize = y.shape.reduce<number>((a, b) => a * (b as number), 1);
  const random = rng(1234);
  const r = g.input('r', 'float64', [...y.shape] as number[]);
  const loss = ops.reduceSum(g, ops.reshape(g, ops.mul(g, y, r), [ySize]), [0], false);
  g.output(loss, 'loss');
  const grads = backward(
    g,
    loss,
    Object.keys(inputs).map((k) => values[k]),
    g.scalar(1),
  );
  for (const name of Object.keys(inputs)) g.output(grads.get(name) ?? ops.zerosLike(g, values[name]), `grad_${name}`);
  const session = await createSession(g.toOnnx(), { threads: 1 });

  const data: Record<string, Float64Array> = {};
  for (const [name, shape] of Object.entries(inputs)) {
    const n = shape.reduce((a, b) => a * b, 1);
    data[name] = Float64Array.from({ length: n }, () => (positive ? 0.5 + random() : 2 * random() - 1));
  }
  const rData = Float64Array.from({ length: ySize }, () => 2 * random() - 1);
  const feeds = (override?: [string, number, number]) => {
    const f: Record<string, ort.Tensor> = { ...fixed, r: new ort.Tensor('float64', rData, [...y.shape] as number[]) };
    for (const [name, shape] of Object.entries(inputs)) {
      const d = Float64Array.from(data[name]);
      if (override && override[0] === name) d[override[1]] += override[2];
      f[name] = new ort.Tensor('float64', d, shape);
    }
    return f;
  };
  const out = await session.run(feeds());
  const eps = 1e-6;
  for (const name of Object.keys(inputs)) {
    const analytic = out[`grad_${name}`].data as Float64Array;
    const numeric = new Float64Array(analytic.length);
    for (let i = 0; i < analytic.length; i++) {
      const plus = ((await session.run(feeds([name, i, eps])))['loss'].data as Float64Array)[0];
      const minus = ((await session.run(feeds([name, i, -eps])))['loss'].data as Float64Array)[0];
      numeric[i] = (plus - minus) / (2 * eps);
    }
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < analytic.length; i++) {
      diff = Math.max(diff, Math.abs(analytic[i] - numeric[i]));
      norm = Math.max(norm, Math.abs(numeric[i]));
    }
    expect(diff / Math.max(norm, 1e-12), `d/d${name}`).toBeLessThan(1e-6);
  }
  await session.release();
}

const ints = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

describe('vector-Jacobian rules match finite differences', () => {
  test.each([
    ['add (broadcast)', ops.add],
    ['sub (broadcast)', ops.sub],
    ['mul (broadcast)', ops.mul],
  ] as const)('%s', (_, op) => checkGradients({ inputs: { a: [2, 3, 4], b: [3, 1] }, build: (g, x) => op(g, x.a, x.b) }));

  test('div (broadcast)', () => checkGradients({ inputs: { a: [2, 3], b: [3] }, positive: true, build: (g, x) => ops.div(g, x.a, x.b) }));
  test('neg', () => checkGradients({ inputs: { a: [5] }, build: (g, x) => ops.neg(g, x.a) }));
  test('exp', () => checkGradients({ inputs: { a: [5] }, build: (g, x) => ops.exp(g, x.a) }));
  test('sqrt', () => checkGradients({ inputs: { a: [5] }, positive: true, build: (g, x) => ops.sqrt(g, x.a) }));
  test('reciprocal', () => checkGradients({ inputs: { a: [5] }, positive: true, build: (g, x) => ops.reciprocal(g, x.a) }));
  test('sigmoid', () => checkGradients({ inputs: { a: [5] }, build: (g, x) => ops.sigmoid(g, x.a) }));
  test('transpose', () => checkGradients({ inputs: { a: [2, 3, 4] }, build: (g, x) => ops.transpose(g, x.a, [2, 0, 1]) }));
  test('reshape', () => checkGradients({ inputs: { a: [2, 3, 4] }, build: (g, x) => ops.reshape(g, x.a, [4, -1]) }));
  test('unsqueeze', () => checkGradients({ inputs: { a: [2, 3] }, build: (g, x) => ops.unsqueeze(g, x.a, [1]) }));
  test('concat', () => checkGradients({ inputs: { a: [2, 3], b: [2, 2] }, build: (g, x) => ops.concat(g, [x.a, x.b], 1) }));
  test('split', () =>
    checkGradients({
      inputs: { a: [2, 5] },
      fixed: { s2: new ort.Tensor('float64', new Float64Array(2), [1, 2]), s3: new ort.Tensor('float64', new Float64Array(3), [1, 3]) },
      build: (g, x) => {
        const [p, q] = ops.split(g, x.a, 1, [
          { value: x.s2, axis: 1 },
          { value: x.s3, axis: 1 },
        ]);
        return ops.mul(g, p, ops.reduceSum(g, q, [1], true));
      },
    }));
  test('reduceSum', () => checkGradients({ inputs: { a: [2, 3, 4] }, build: (g, x) => ops.reduceSum(g, x.a, [0, 2], false) }));
  test('reduceMean', () => checkGradients({ inputs: { a: [2, 3, 4] }, build: (g, x) => ops.reduceMean(g, x.a, [-1], true) }));
  test('expandLike', () =>
    checkGradients({ inputs: { a: [3, 1], b: [2, 3, 4] }, build: (g, x) => ops.mul(g, ops.expandLike(g, x.a, x.b), x.b) }));
  test('matmul (batched, broadcast batch)', () =>
    checkGradients({ inputs: { a: [2, 2, 3, 4], b: [2, 1, 4, 5] }, build: (g, x) => ops.matmul(g, x.a, x.b) }));
  test('matmul (shared weight)', () => checkGradients({ inputs: { a: [2, 3, 4], b: [4, 5] }, build: (g, x) => ops.matmul(g, x.a, x.b) }));
  test('linear with bias', () =>
    checkGradients({ inputs: { x: [2, 3, 4], w: [5, 4], b: [5] }, build: (g, x) => ops.linear(g, x.x, x.w, x.b) }));
  test('softmax', () => checkGradients({ inputs: { a: [3, 6] }, build: (g, x) => ops.softmax(g, x.a, -1) }));
  test('rmsNorm', () => checkGradients({ inputs: { x: [2, 3, 8], w: [8] }, build: (g, x) => ops.rmsNorm(g, x.x, x.w, 1e-5) }));
  test('silu', () => checkGradients({ inputs: { a: [7] }, build: (g, x) => ops.silu(g, x.a) }));
  test('weightedCrossEntropy', () =>
    checkGradients({
      inputs: { z: [4, 6] },
      fixed: { y: ints([0, 5, 2, 2], [4]), w: new ort.Tensor('float64', Float64Array.from([0.5, 0, 0.25, 0.25]), [4]) },
      build: (g, x) => ops.weightedCrossEntropy(g, x.z, x.y, x.w),
    }));

  test('a whole decoder layer (GQA, RoPE, LoRA on every projection, padding mask)', () => {
    const cfg = parseModelConfig({
      model_type: 'llama',
      vocab_size: 16,
      hidden_size: 8,
      intermediate_size: 12,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 4,
    });
    const B = 2;
    const T = 3;
    const inputs: Record<string, number[]> = { x: [B, T, 8], inputNorm: [8], postNorm: [8] };
    for (const p of PROJECTIONS) {
      const { in: i, out: o } = projectionShape(cfg, p);
      inputs[`W_${p}`] = [o, i];
      inputs[`A_${p}`] = [2, i];
      inputs[`B_${p}`] = [o, 2];
    }
    const mask = new Float64Array(B * T * T).fill(-1e30);
    for (let b = 0; b < B; b++)
      for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) if (b === 0 || k < 2 || k === q) mask[(b * T + q) * T + k] = 0;
    const angles = Float64Array.from({ length: B * T * 4 }, (_, i) => (Math.floor(i / 4) % T) * (1 + (i % 2)));
    return checkGradients({
      inputs,
      fixed: {
        mask: new ort.Tensor('float64', mask, [B, 1, 1, T, T]),
        cos: new ort.Tensor('float64', angles.map(Math.cos), [B, T, 1, 4]),
        sin: new ort.Tensor('float64', angles.map(Math.sin), [B, T, 1, 4]),
      },
      build: (g, v) => {
        const w: LayerWeights = { inputNorm: v.inputNorm, postNorm: v.postNorm, proj: {} as Record<Projection, Value>, bias: {} };
        for (const p of PROJECTIONS) w.proj[p] = v[`W_${p}`];
        return decoderLayer(g, cfg, w, {
          x: v.x,
          cos: v.cos,
          sin: v.sin,
          mask: v.mask,
          lora: (p) => ({ a: v[`A_${p}`], b: v[`B_${p}`], scale: 1.5 }),
        }).y;
      },
    });
  });
});
