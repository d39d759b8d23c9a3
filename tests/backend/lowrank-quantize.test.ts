import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { type LoraAdapter, loadLoraAdapter } from '../../contracts/formats/adapter.ts';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../../contracts/formats/safetensors.ts';
import { Graph } from '../../gpu-backend/engine/graph.ts';
import { createSession, f32 } from '../../gpu-backend/engine/runtime.ts';
import { readAdapterFolder, readModelFolder } from '../../gpu-backend/formats/files.ts';
import { adapterFiles } from '../../gpu-backend/lowrank/peft-adapter.ts';
import {
  dequantizeMatrix,
  type QuantizeOptions,
  quantizeAdapter,
  quantizeBaseWeights,
  quantizeMatrix,
  readQuantizedFile,
} from '../../gpu-backend/lowrank/quantize.ts';

const MODEL = join(import.meta.dirname, '..', '..', 'models', 'rankgate-tiny');

const errorCode = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return (e as InvalidInputError).code;
  }
  return undefined;
};

describe('quantizeMatrix round trip (property)', () => {
  const options = fc.record({
    bits: fc.constantFrom(4 as const, 8 as const),
    groupSize: fc.constantFrom(32 as const, 64 as const, 128 as const),
    symmetric: fc.boolean(),
  });
  // Rows of any length (odd K pads the last group), values of mixed sign and magnitude (1e-37: denormal scales),
  // some blocks all zero.
  const matrix = fc
    .record({ n: fc.integer({ min: 1, max: 3 }), k: fc.integer({ min: 1, max: 300 }), magnitude: fc.constantFrom(0, 1e-37, 1e-6, 1, 1e3) })
    .chain(({ n, k, magnitude }) =>
      fc.record({
        n: fc.constant(n),
        k: fc.constant(k),
        w: fc
          .array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: n * k, maxLength: n * k })
          .map((xs) => Float32Array.from(xs, (x) => x * magnitude)),
      }),
    );

  test('every element is within half a step of its block, plus float slop; buffers have the MatMulNBits sizes', () => {
    fc.assert(
      fc.property(matrix, options, ({ n, k, w }, opts) => {
        const q = quantizeMatrix(w, n, k, opts);
        const nBlocks = Math.ceil(k / opts.groupSize);
        expect(q.qweight.length).toBe((n * nBlocks * opts.groupSize * opts.bits) / 8);
        expect(q.scales.length).toBe(n * nBlocks);
        if (opts.symmetric) expect(q.zeroPoints).toBeUndefined();
        else expect(q.zeroPoints?.length).toBe(n * Math.ceil((nBlocks * opts.bits) / 8));
        const d = dequantizeMatrix(q);
        for (let row = 0; row < n; row++) {
          for (let col = 0; col < k; col++) {
            const step = Math.abs(q.scales[row * nBlocks + Math.floor(col / opts.groupSize)]);
            const x = w[row * k + col];
            expect(Math.abs(x - d[row * k + col])).toBeLessThanOrEqual(step / 2 + step * 1e-5 + Math.abs(x) * 1e-6 + 1e-37); // 1e-37: float32 denormals
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('MatMulNBits layout', () => {
  test('int4 symmetric: codes, packing, padding and scales by hand', () => {
    // Block 0: the codes 0..15 twice at scale 0.25 (−2 is the value of largest magnitude, so it maps to code 0).
    // Block 1 (K = 40 pads it to 32): 3 then zeros; 3 maps to code 0 at scale −3/8, zero to the midpoint 8.
    const w = new Float32Array(40);
    for (let i = 0; i < 32; i++) w[i] = ((i % 16) - 8) * 0.25;
    w[32] = 3;
    const q = quantizeMatrix(w, 1, 40, { bits: 4, groupSize: 32, symmetric: true });
    expect(Array.from(q.scales)).toEqual([0.25, -0.375]);
    const block0 = Array.from({ length: 16 }, (_, j) => ((2 * j) % 16) | (((2 * j + 1) % 16) << 4));
    expect(Array.from(q.qweight)).toEqual([...block0, 0x80, ...Array(15).fill(0x88)]);
    expect(Array.from(dequantizeMatrix(q), (v) => v + 0)).toEqual(Array.from(w)); // + 0: −0 (code 8 at a negative scale) is 0
  });

  test('int4 and int8 asymmetric: zero points packed per row, low nibble first', () => {
    // Row values in [−1, 2]: scale 3/15 = 0.2, zero point round(1/0.2) = 5; the second block is ≥ 0: zero point 0.
    const w = new Float32Array(64);
    for (let i = 0; i < 32; i++) w[i] = -1 + (3 * i) / 31;
    for (let i = 32; i < 64; i++) w[i] = i / 64;
    const q4 = quantizeMatrix(w, 1, 64, { bits: 4, groupSize: 32, symmetric: false });
    expect(q4.scales[0]).toBeCloseTo(0.2, 7);
    expect(Array.from(q4.zeroPoints!)).toEqual([5 | (0 << 4)]);
    const q8 = quantizeMatrix(w, 1, 64, { bits: 8, groupSize: 32, symmetric: false });
    expect(q8.scales[0]).toBeCloseTo(3 / 255, 7);
    expect(Array.from(q8.zeroPoints!)).toEqual([85, 0]);
    expect(q8.qweight[0]).toBe(0); // −1 is the bottom of the range
  });

  // onnxruntime itself reads our buffers: with A = I (K × K), MatMulNBits returns dequant(B)ᵀ.
  test.each<QuantizeOptions>([
    { bits: 4, groupSize: 32, symmetric: true },
    { bits: 4, groupSize: 64, symmetric: false },
    { bits: 8, groupSize: 32, symmetric: true },
    { bits: 8, groupSize: 128, symmetric: false },
  ])('onnxruntime MatMulNBits dequantizes %o as dequantizeMatrix does (N = 5, K = 77)', async (opts) => {
    const [N, K] = [5, 77];
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));
    const q = quantizeMatrix(w, N, K, opts);
    const nBlocks = Math.ceil(K / opts.groupSize);
    const g = new Graph('nbits');
    const x = g.input('x', 'float32', [K, K]);
    const inputs = [
      x,
      g.initializer('b', q.qweight, [N, nBlocks, (opts.groupSize * opts.bits) / 8], 'uint8'),
      g.initializer('scales', q.scales, [N * nBlocks]),
    ];
    if (q.zeroPoints) inputs.push(g.initializer('zero_points', q.zeroPoints, [q.zeroPoints.length], 'uint8'));
    const attrs = { K, N, bits: opts.bits, block_size: opts.groupSize };
    const [y] = g.node('MatMulNBits', inputs, [{ type: 'float32', shape: [K, N] }], attrs, { domain: 'com.microsoft' });
    g.output(y, 'y');
    const session = await createSession(g.toOnnx(), { threads: 1 });
    const eye = new Float32Array(K * K);
    for (let i = 0; i < K; i++) eye[i * K + i] = 1;
    const got = (await session.run({ x: f32(eye, [K, K]) })).y.data as Float32Array;
    const want = dequantizeMatrix(q);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) expect(got[k * N + n]).toBeCloseTo(want[n * K + k], 5);
  });

  test.each([
    [{ bits: 3, groupSize: 32, symmetric: true }, 'bad_bits'],
    [{ bits: 16, groupSize: 32, symmetric: true }, 'bad_bits'],
    [{ bits: 4, groupSize: 16, symmetric: true }, 'bad_group_size'],
    [{ bits: 8, groupSize: 256, symmetric: false }, 'bad_group_size'],
  ])('refuses %o with %s', (opts, code) => {
    expect(errorCode(() => quantizeMatrix(new Float32Array(32), 1, 32, opts as QuantizeOptions))).toBe(code);
  });

  test('refuses NaN weights', () => {
    expect(errorCode(() => quantizeMatrix(Float32Array.of(1, Number.NaN), 1, 2, { bits: 8, groupSize: 32, symmetric: true }))).toBe(
      'weights_not_finite',
    );
  });
});

describe('quantizeAdapter and quantizeBaseWeights', () => {
  let adapter: LoraAdapter;
  let model: Awaited<ReturnType<typeof readModelFolder>>;
  beforeAll(async () => {
    model = await readModelFolder(join(MODEL, 'base'));
    adapter = await readAdapterFolder(join(MODEL, 'adapters', 'acronym'), model.config);
  });

  test.each([
    [8, 0.01],
    [4, 0.2],
  ] as const)('int%i adapter: dequantized adapter loads as PEFT, ΔW error below %f, file reads back', (bits, bound) => {
    const opts: QuantizeOptions = { bits, groupSize: 32, symmetric: false };
    const { adapter: out, tensors, metadata, report } = quantizeAdapter(adapter, opts);
    expect(report.modules).toHaveLength(adapter.modules.length);
    for (const m of report.modules) {
      expect(m.relErrorDelta).toBeGreaterThan(0);
      expect(m.relErrorDelta).toBeLessThan(bound);
    }
    // lora_B's K is the rank (8), padded to a group of 32: its codes take 4× their count, so the ratio is well above bits/32.
    expect(report.storageRatio).toBeLessThan(bits === 8 ? 0.8 : 0.5);
    const files = adapterFiles(out);
    const back = loadLoraAdapter(JSON.parse(files.config), model.config, decodeSafetensors(files.weights).tensors);
    expect(back.modules.map((m) => m.rank)).toEqual(adapter.modules.map((m) => m.rank));

    const file = decodeSafetensors(encodeSafetensors(tensors, metadata));
    const read = readQuantizedFile(file.tensors, file.metadata);
    const first = adapter.modules[0];
    const qa = read.get(`base_model.model.${first.path}.lora_A`)!;
    expect([qa.n, qa.k, qa.bits, qa.blockSize]).toEqual([first.rank, first.in, bits, 32]);
    expect(dequantizeMatrix(qa)).toEqual(out.modules[0].a);
    expect(file.tensors.get(`base_model.model.${first.path}.lora_B.qweight`)?.shape).toEqual([first.out, 1, (32 * bits) / 8]);
    const truncated = new Map(file.tensors);
    truncated.set(`base_model.model.${first.path}.lora_A.scales`, { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    expect(errorCode(() => readQuantizedFile(truncated, file.metadata))).toBe('bad_quantized_file');
  });

  test('base weights: projections and the embedding quantized, norms kept, int8 error small', () => {
    const { weights, tensors, report } = quantizeBaseWeights(model.weights, { bits: 8, groupSize: 64, symmetric: true });
    const names = report.weights.map((w) => w.name);
    expect(names).toContain('model.layers.0.self_attn.q_proj.weight');
    expect(names).toContain('model.layers.3.mlp.down_proj.weight');
    expect(names).toContain('model.embed_tokens.weight');
    expect(names.some((n) => n.includes('norm'))).toBe(false);
    expect(report.weights).toHaveLength(4 * 7 + 1);
    for (const w of report.weights) expect(w.relError).toBeLessThan(0.01);
    const norm = [...model.weights.keys()].find((n) => n.includes('norm'))!;
    expect(weights.get(norm)).toBe(model.weights.get(norm) as Tensor);
    expect(tensors.find(([n]) => n === 'model.layers.0.self_attn.q_proj.qweight')?.[1].shape).toEqual([256, 4, 64]);
    expect(tensors.some(([n]) => n.endsWith('.zero_points'))).toBe(false);
    expect(report.storageRatio).toBeCloseTo((1 + 4 / 64) / 4, 3);
  });
});
