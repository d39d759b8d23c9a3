/**
 * The runtime GEMM runner: every form, single and batched, on onnxruntime agrees with the float64 kernels to
 * float32 accuracy, and small products stay in float64 exactly.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { float32Of, keepFloat32 } from '../../gpu-backend/lowrank/float32-twin.ts';
import {
  gemm,
  gemmBatch,
  gemmBatchLent,
  gemmKept,
  gemmLent,
  type GemmForm,
  RUNTIME_MIN_MACS,
  setRuntimeMinMacs,
} from '../../gpu-backend/lowrank/gemm-runner.ts';
import { borrow32, borrow64, giveBack } from '../../gpu-backend/lowrank/scratch-buffers.ts';
import { frobenius, type Mat, matmul, matmulNT, matmulTN, zeros } from '../../gpu-backend/lowrank/linalg.ts';
import { randomMat } from './helpers.ts';

const reference = (a: Mat, b: Mat, form: GemmForm) => (form === 'nn' ? matmul(a, b) : form === 'tn' ? matmulTN(a, b) : matmulNT(a, b));
const operands = (form: GemmForm, m: number, k: number, n: number, seed: number): [Mat, Mat] => [
  form === 'tn' ? randomMat(k, m, seed) : randomMat(m, k, seed),
  form === 'nt' ? randomMat(n, k, seed + 1) : randomMat(k, n, seed + 1),
];
function relDiff(x: Mat, y: Mat): number {
  const d = zeros(x.rows, x.cols);
  for (let i = 0; i < d.data.length; i++) d.data[i] = x.data[i] - y.data[i];
  return frobenius(d) / frobenius(y);
}

describe('gemm on the runtime', () => {
  afterAll(() => setRuntimeMinMacs(RUNTIME_MIN_MACS));

  test('a lent result holds gemm’s values, and a buffer given back is lent again rather than made afresh', async () => {
    setRuntimeMinMacs(0);
    const [a, b] = operands('tn', 30, 20, 10, 21);
    const lent = await gemmLent(a, b, 'tn');
    expect(Array.from(lent.c.data)).toEqual(Array.from((await gemm(a, b, 'tn')).data));
    lent.done();
    const x = borrow32(100);
    giveBack(x);
    expect(borrow32(120).buffer).toBe(x.buffer); // the same power-of-two capacity (128)
    const y = borrow64(5);
    giveBack(y);
    expect(borrow64(7).buffer).toBe(y.buffer);
    expect(borrow64(9).buffer).not.toBe(y.buffer);
  });

  test('a kept result carries the float32 values the runtime gave, and products that read it agree with fresh ones', async () => {
    setRuntimeMinMacs(0);
    const [a, b] = operands('nn', 40, 30, 20, 11);
    const kept = await gemmKept(a, b);
    const twin = float32Of(kept);
    expect(twin).toBe(float32Of(kept));
    expect(Array.from(twin)).toEqual(Array.from(Float32Array.from(kept.data)));
    const c = randomMat(20, 10, 5);
    const fresh = { ...kept, data: kept.data.slice() };
    expect(Array.from((await gemm(kept, c)).data)).toEqual(Array.from((await gemm(fresh, c)).data));
    // A marked matrix is converted once, on its first product.
    const marked = keepFloat32(randomMat(10, 20, 9));
    expect(float32Of(marked)).toBe(float32Of(marked));
    expect(float32Of(fresh)).not.toBe(float32Of(fresh));
  });

  for (const form of ['nn', 'tn', 'nt'] as const) {
    test(`${form}: runtime float32 matches float64 within float32 round-off`, async () => {
      setRuntimeMinMacs(0);
      const [a, b] = operands(form, 37, 91, 23, 3);
      const c = await gemm(a, b, form);
      expect([c.rows, c.cols]).toEqual([37, 23]);
      const diff = relDiff(c, reference(a, b, form));
      expect(diff).toBeLessThan(1e-6);
      expect(diff).toBeGreaterThan(0); // it really ran in float32
    });

    test(`${form}: a batch of pairs is each pair's product`, async () => {
      setRuntimeMinMacs(0);
      const pairs = [0, 1, 2].map((i) => operands(form, 19, 40, 11, 10 + 2 * i));
      const out = await gemmBatch(pairs, form);
      out.forEach((c, i) => expect(relDiff(c, reference(...pairs[i], form))).toBeLessThan(1e-6));
    });
  }

  test("a batch gives each pair bitwise its own gemm: one run at a merge's core shapes, float64 below the runtime's size", async () => {
    setRuntimeMinMacs(RUNTIME_MIN_MACS);
    for (const [form, m, k, n] of [
      ['tn', 128, 128, 128],
      ['tn', 128, 128, 101],
      ['nn', 128, 128, 128],
      ['tn', 128, 128, 37],
    ] as const) {
      const pairs = [operands(form, m, k, n, 30), operands(form, m, k, n, 40)];
      const want = await Promise.all(pairs.map(([a, b]) => gemm(a, b, form)));
      const got = await gemmBatch(pairs, form);
      got.forEach((c, i) => expect(c.data).toEqual(want[i].data));
      const lent = await gemmBatchLent(pairs, form);
      lent.cs.forEach((c, i) => expect(c.data).toEqual(want[i].data));
      lent.done();
    }
  });

  test('small products stay in float64, exactly', async () => {
    setRuntimeMinMacs(RUNTIME_MIN_MACS);
    const [a, b] = operands('nn', 8, 8, 8, 5);
    expect((await gemm(a, b)).data).toEqual(matmul(a, b).data);
  });

  test('shapes that do not chain are refused', async () => {
    await expect(gemm(randomMat(3, 4, 1), randomMat(5, 2, 2))).rejects.toThrow(/do not chain/);
    await expect(gemmBatch([operands('nn', 2, 3, 4, 1), operands('nn', 2, 3, 5, 1)])).rejects.toThrow(/same shapes/);
  });
});

describe('spanBasis: an orthonormal basis of a stacked factor through its Gram', () => {
  afterAll(() => setRuntimeMinMacs(RUNTIME_MIN_MACS));
  const orthonormality = (q: Mat) => {
    const g = matmulTN(q, q);
    let worst = 0;
    for (let i = 0; i < g.rows; i++)
      for (let j = 0; j < g.cols; j++) worst = Math.max(worst, Math.abs(g.data[i * g.cols + j] - (i === j ? 1 : 0)));
    return worst;
  };
  // Columns of very different scales, and one column a combination of two others (rank 5 of 6).
  const x = randomMat(300, 6, 21);
  for (let i = 0; i < 300; i++) {
    x.data[i * 6 + 1] *= 1e-3;
    x.data[i * 6 + 5] = x.data[i * 6] - 2 * x.data[i * 6 + 2];
  }
  for (const [where, macs] of [
    ['float64', Infinity],
    ['the runtime', 0],
  ] as const) {
    test(`on ${where}: q orthonormal, q·r = x, the dependent column costs no basis vector`, async () => {
      setRuntimeMinMacs(macs);
      const { basisTimes, spanBasis } = await import('../../gpu-backend/lowrank/span-basis.ts');
      for (const side of ['columns', 'rows'] as const) {
        const given = side === 'columns' ? x : transposeOf(x);
        const { map, r } = await spanBasis(given, side);
        const q = await basisTimes(given, side, map);
        expect(q.cols).toBe(5);
        expect(orthonormality(q)).toBeLessThan(macs === 0 ? 1e-5 : 1e-12);
        expect(relDiff(matmul(q, r), x)).toBeLessThan(macs === 0 ? 1e-5 : 1e-12);
      }
    });
  }
});

function transposeOf(a: Mat): Mat {
  const t = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j];
  return t;
}
