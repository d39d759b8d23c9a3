/**
 * svdOfFactors: the SVD of b·a in the core space of its factors (Grams and expansions on the runtime) is the
 * float64 svdOfProduct's, and a product whose stacked factors are rank-deficient comes back exactly at its rank.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { RUNTIME_MIN_MACS, setRuntimeMinMacs } from '../../gpu-backend/lowrank/gemm-runner.ts';
import { fromArray, type Mat, matmul, svdOfProduct } from '../../gpu-backend/lowrank/linalg.ts';
import { randomMat } from './helpers.ts';
import { svdOfFactors } from '../../gpu-backend/lowrank/svd.ts';

/** ‖u·diag(s)·vᵀ − b·a‖ / ‖b·a‖, dense (the shapes here are small). */
function rebuildError(svd: { u: Mat; s: Float64Array; v: Mat }, b: Mat, a: Mat): number {
  const want = matmul(b, a);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < want.rows; i++)
    for (let j = 0; j < want.cols; j++) {
      let x = 0;
      for (let k = 0; k < svd.s.length; k++) x += svd.u.data[i * svd.u.cols + k] * svd.s[k] * svd.v.data[j * svd.v.cols + k];
      diff += (x - want.data[i * want.cols + j]) ** 2;
      norm += want.data[i * want.cols + j] ** 2;
    }
  return Math.sqrt(diff / norm);
}

describe('svdOfFactors', () => {
  afterAll(() => setRuntimeMinMacs(RUNTIME_MIN_MACS));

  test('on the runtime: the singular values of svdOfProduct to float32 accuracy, and the product rebuilt', async () => {
    setRuntimeMinMacs(0);
    const b = randomMat(300, 24, 1);
    const a = randomMat(24, 200, 2);
    const got = await svdOfFactors(b, a);
    const want = svdOfProduct(b, a);
    expect(got.s.length).toBe(24);
    got.s.forEach((s, i) => expect(Math.abs(s - want.s[i]) / want.s[0]).toBeLessThan(1e-5));
    expect(rebuildError(got, b, a)).toBeLessThan(1e-5);
  });

  test('in float64 (small products): exact, and a repeated factor gives only the rank it has', async () => {
    setRuntimeMinMacs(RUNTIME_MIN_MACS);
    const b1 = randomMat(40, 4, 3);
    const a1 = randomMat(4, 30, 4);
    // [b1 b1]·[a1; a1] = 2·b1·a1: rank 4 though 8 columns are stacked.
    const b = fromArray(
      40,
      8,
      Array.from({ length: 320 }, (_, i) => b1.data[Math.floor(i / 8) * 4 + (i % 4)]),
    );
    const a = fromArray(8, 30, [...a1.data, ...a1.data]);
    const got = await svdOfFactors(b, a);
    expect(got.s.length).toBe(4);
    expect(rebuildError(got, b, a)).toBeLessThan(1e-12);
  });
});
