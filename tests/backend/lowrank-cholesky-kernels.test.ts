import { describe, expect, test } from 'vitest';
import { loadCholeskyKernels } from '../../gpu-backend/lowrank/cholesky-kernels.ts';
import { gramFactor } from '../../gpu-backend/lowrank/gram-factor.ts';
import { type Mat, matmulTN } from '../../gpu-backend/lowrank/linalg.ts';
import { gaussian } from '../../gpu-backend/lowrank/svd.ts';

/** Bit patterns, so that -0 and 0 differ. */
const bits = (m: Mat) => Array.from(new BigUint64Array(Float64Array.from(m.data).buffer));

function expectBitwise(gram: Mat, tol: number): void {
  const want = gramFactor(gram, tol, true);
  const got = gramFactor(gram, tol);
  expect([got.map.rows, got.map.cols]).toEqual([want.map.rows, want.map.cols]);
  expect(bits(got.map)).toEqual(bits(want.map));
  expect(bits(got.r)).toEqual(bits(want.r));
  expect(Object.is(got.spread, want.spread)).toBe(true);
}

describe("the WebAssembly loops of gramFactor's pivoted Cholesky", () => {
  test('are bitwise the JavaScript loops: full rank at orders around the eight-column blocks', async () => {
    await loadCholeskyKernels();
    for (const [m, n] of [
      [2000, 128],
      [300, 100],
      [64, 17],
      [500, 64],
      [40, 40],
      [30, 23],
    ]) {
      const x = gaussian(m, n, m + n);
      expectBitwise(matmulTN(x, x), 1e-6);
    }
  });

  test('are bitwise the JavaScript loops where columns repeat, vanish or depend on others (rank short of N)', async () => {
    await loadCholeskyKernels();
    const x = gaussian(200, 60, 5);
    for (let i = 0; i < 200; i++) {
      x.data[i * 60 + 7] = x.data[i * 60 + 3];
      x.data[i * 60 + 9] = 0;
      x.data[i * 60 + 20] = 2 * x.data[i * 60 + 1] - x.data[i * 60 + 2];
    }
    const gram = matmulTN(x, x);
    expectBitwise(gram, 1e-13);
    expect(gramFactor(gram, 1e-13).map.cols).toBe(57);
    // A Gram whose off-diagonal entries are exact zeros in blocks: the skipped zero multipliers.
    const blocky = matmulTN(x, x);
    for (let i = 0; i < 60; i++) for (let j = 0; j < 60; j++) if (i < 30 !== j < 30) blocky.data[i * 60 + j] = 0;
    expectBitwise(blocky, 1e-13);
  });
});
