/**
 * The quantizer on onnxruntime (lowrank/quantize-runner.ts) writes the same bytes as the JS quantizer
 * (quantize-matrix.ts) on random matrices and on the edge cases of its arithmetic.
 */
import { describe, expect, test } from 'vitest';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import type { Tensor } from '../../contracts/formats/safetensors.ts';
import { type QuantizeOptions, quantizeMatrix } from '../../gpu-backend/lowrank/quantize-matrix.ts';
import { quantizeOnRuntime } from '../../gpu-backend/lowrank/quantize-runner.ts';

const OPTIONS: QuantizeOptions[] = [4, 8].flatMap((bits) =>
  [32, 64, 128].flatMap((groupSize) => [true, false].map((symmetric) => ({ bits, groupSize, symmetric }) as QuantizeOptions)),
);

/** A seeded generator, so a failure names a reproducible matrix. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Random rows, then rows of the edge cases, k values each. */
function matrix(n: number, k: number, seed: number): Float32Array {
  const r = random(seed);
  const w = Float32Array.from({ length: n * k }, () => (r() - 0.5) * 0.1 * (1 + 10 * r()));
  const row = (i: number, f: (j: number) => number) => {
    for (let j = 0; i < n && j < k; j++) w[i * k + j] = f(j);
  };
  row(0, () => 0); // an all-zero row: scale 0
  row(1, () => 0.25); // constant blocks, positive
  row(2, () => -3); // constant, negative
  row(3, (j) => (j % 2 ? 7.5 : -8) * 0.01); // ties at .5 for the symmetric int4 steps
  row(4, (j) => (j % 15) / 15 - 0.5); // an asymmetric range of exact multiples (codes at .5 after the zero point)
  row(5, (j) => (j % 3 === 0 ? 3.4e38 : -3.4e38 * (j % 5) * 0.1)); // near float32's largest, no overflow to infinity
  // (Row 6 is random: a denormal row sends its whole chunk to the JS quantizer, tested on its own below.)
  row(7, (j) => (j === 0 ? 1 : 1e-30)); // one large value beside tiny ones (codes all at the zero point)
  row(8, (j) => Math.fround(j * 0.1) + 0.5); // values of the other sign absent: the range starts at 0
  // Scale 1 and zero point 0 (int4, then int8), and a code of 0.49999997, which roundf takes to 0 and floor(x + 0.5) to 1.
  row(9, (j) => (j % 2 ? 15 : Math.fround(0.5 - 2 ** -25)));
  row(10, (j) => (j % 2 ? 255 : Math.fround(0.5 - 2 ** -25)));
  return w;
}

const bf16 = (w: Float32Array): Tensor => {
  const u32 = new Uint32Array(w.buffer, w.byteOffset, w.length);
  // Truncated to bf16, and the JS quantizer gets the same values back in float32.
  return { dtype: 'BF16', shape: [w.length], data: Uint16Array.from(u32, (x) => x >>> 16) };
};

describe('the quantizer on onnxruntime', () => {
  test.each(OPTIONS)('writes the JS quantizer’s bytes for %o (random rows and edge cases; k whole and ragged)', async (opts) => {
    for (const [n, k, seed] of [
      [16, 256, 1],
      [11, 77, 2],
      [12, 3 * opts.groupSize + 5, 3],
    ]) {
      const w = matrix(n, k, seed);
      const want = quantizeMatrix(w, n, k, opts);
      const got = await quantizeOnRuntime({ dtype: 'F32', shape: [n, k], data: w }, n, k, opts);
      expect(Buffer.from(got.scales.buffer).equals(Buffer.from(want.scales.buffer)), `scales ${n}×${k}`).toBe(true);
      expect(Buffer.from(got.qweight).equals(Buffer.from(want.qweight)), `codes ${n}×${k}`).toBe(true);
      expect(got.zeroPoints && Buffer.from(got.zeroPoints).equals(Buffer.from(want.zeroPoints!))).toBe(want.zeroPoints ? true : undefined);
    }
  });

  test('denormal weights (a scale whose float32 reciprocal overflows) get the JS quantizer’s bytes', async () => {
    const w = Float32Array.from({ length: 4 * 64 }, (_, i) => (i % 2 ? 1e-40 : -3e-41 * (i % 7)));
    for (const opts of OPTIONS.filter((o) => o.groupSize === 32)) {
      const want = quantizeMatrix(w, 4, 64, opts);
      const got = await quantizeOnRuntime({ dtype: 'F32', shape: [4, 64], data: w }, 4, 64, opts);
      expect(Buffer.from(got.qweight).equals(Buffer.from(want.qweight))).toBe(true);
      expect(Buffer.from(got.scales.buffer).equals(Buffer.from(want.scales.buffer))).toBe(true);
    }
  });

  test('reads a bf16 tensor as stored, and matches across row chunks of a large matrix', async () => {
    const [n, k] = [1100, 16384]; // 18 M values: two runs of the graph
    const w = matrix(n, k, 4);
    const t = bf16(w);
    const widened = new Float32Array(new Uint32Array(Array.from(t.data as Uint16Array, (x) => x << 16)).buffer);
    const opts: QuantizeOptions = { bits: 4, groupSize: 32, symmetric: false };
    const want = quantizeMatrix(widened, n, k, opts);
    const got = await quantizeOnRuntime(t, n, k, opts);
    expect(Buffer.from(got.qweight).equals(Buffer.from(want.qweight))).toBe(true);
    expect(Buffer.from(got.scales.buffer).equals(Buffer.from(want.scales.buffer))).toBe(true);
    expect(Buffer.from(got.zeroPoints!).equals(Buffer.from(want.zeroPoints!))).toBe(true);
  });

  test('refuses a NaN or an infinite weight, naming where it is', async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const w = new Float32Array(64 * 3);
      w[64 + 5] = bad;
      const err = await quantizeOnRuntime({ dtype: 'F32', shape: [3, 64], data: w }, 3, 64, {
        bits: 4,
        groupSize: 32,
        symmetric: false,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.code).toBe('weights_not_finite');
      expect(err.message).toContain('row 1, column 5');
    }
  });
});
