import { describe, expect, test } from 'vitest';
import { fromArray, type Mat, matmul, matmulNT, matmulTN, transpose } from '../../gpu-backend/lowrank/linalg.ts';
import { loadProductKernels } from '../../gpu-backend/lowrank/product-kernels.ts';
import { gaussian } from '../../gpu-backend/lowrank/svd.ts';

/** c = a·b with each entry summed over p in order from 0: the JavaScript loop's arithmetic. */
function sequential(a: Mat, b: Mat): Mat {
  const c = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let p = 0; p < a.cols; p++) s += a.data[i * a.cols + p] * b.data[p * b.cols + j];
      c[i * b.cols + j] = s;
    }
  }
  return fromArray(a.rows, b.cols, c);
}

describe('the WebAssembly float64 product', () => {
  // Odd rows and columns (left to the JavaScript), pairs only, one inner step, the 128×16·16×128 of a core, and a
  // basis of size 1 (aᵀ·b of a column, without transposing a).
  const shapes = [
    [128, 16, 128],
    [17, 33, 19],
    [2, 2048, 3],
    [31, 64, 5],
    [64, 1, 64],
    [3, 5, 7],
    [128, 128, 100],
    [128, 128, 1],
    [1, 128, 16],
  ];

  test('is bitwise the sequential sum, for a·b, aᵀ·b and a·bᵀ', async () => {
    await loadProductKernels();
    shapes.forEach(([m, k, n], s) => {
      const a = gaussian(m, k, 10 + s);
      const b = gaussian(k, n, 20 + s);
      const want = Array.from(sequential(a, b).data);
      expect(Array.from(matmul(a, b).data)).toEqual(want);
      expect(Array.from(matmulTN(transpose(a), b).data)).toEqual(want);
      expect(Array.from(matmulNT(a, transpose(b)).data)).toEqual(want);
    });
  });

  test('keeps signed zeros and non-finite values as the JavaScript does', async () => {
    await loadProductKernels();
    const a = fromArray(4, 4, [-0, 0, 1, -1, Infinity, 2, 3, 4, Number.NaN, 1, 1, 1, -0, -0, -0, -0].map(Number));
    const b = fromArray(
      4,
      64,
      Array.from({ length: 256 }, (_, i) => (i % 7 === 0 ? -0 : i - 100)),
    );
    expect(Array.from(matmul(a, b).data)).toEqual(Array.from(sequential(a, b).data));
  });
});
