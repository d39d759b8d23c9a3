import { join } from 'node:path';
import { Matrix, QrDecomposition, SVD } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { readAdapterFolder, readModelFolder } from '../../gpu-backend/formats/files.ts';
import {
  gramOfColumns,
  gramOfRows,
  frobenius,
  fromArray,
  type Mat,
  matmul,
  matmulNT,
  matmulTN,
  qr,
  svd,
  svdOfProduct,
  transpose,
} from '../../gpu-backend/lowrank/linalg.ts';
import { adapterSpectra, gaussian, randomizedSvd } from '../../gpu-backend/lowrank/svd.ts';
import { gramFactorAsync, handOver, orthonormalAsync, POOL_MIN_N, qrAsync, symEigAsync } from '../../gpu-backend/lowrank/float64-pool.ts';
import { gramFactor } from '../../gpu-backend/lowrank/gram-factor.ts';
import { symEig } from '../../gpu-backend/lowrank/symmetric-eigen.ts';
import { FIXTURE } from './helpers.ts';

const random = (rows: number, cols: number, seed: number): Mat => gaussian(rows, cols, seed);
const toMl = (a: Mat) => new Matrix(Array.from({ length: a.rows }, (_, i) => Array.from(a.data.subarray(i * a.cols, (i + 1) * a.cols))));
const fromMl = (m: Matrix): Mat => fromArray(m.rows, m.columns, m.to1DArray());
const diff = (a: Mat, b: Mat) => {
  expect([a.rows, a.cols]).toEqual([b.rows, b.cols]);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i] - b.data[i]) ** 2;
  return Math.sqrt(s);
};
/** u·diag(s)·vᵀ */
const compose = (u: Mat, s: Float64Array, v: Mat): Mat => {
  const us = fromArray(u.rows, u.cols, u.data);
  for (let i = 0; i < u.rows; i++) for (let j = 0; j < u.cols; j++) us.data[i * u.cols + j] *= s[j];
  return matmulNT(us, v);
};
const expectOrthonormalColumns = (q: Mat) => {
  const g = matmulTN(q, q);
  for (let i = 0; i < g.rows; i++) for (let j = 0; j < g.cols; j++) expect(g.data[i * g.cols + j]).toBeCloseTo(i === j ? 1 : 0, 10);
};

describe('products', () => {
  // Odd sizes so the 2×4 blocked kernel's row and column tails are exercised.
  test.each([
    [7, 5, 9],
    [1, 3, 1],
    [6, 8, 4],
    [13, 17, 11],
  ])('%i×%i·%i matches ml-matrix', (m, k, n) => {
    const a = random(m, k, 1);
    const b = random(k, n, 2);
    const ref = fromMl(toMl(a).mmul(toMl(b)));
    expect(diff(matmul(a, b), ref)).toBeLessThan(1e-12);
    expect(diff(matmulTN(transpose(a), b), ref)).toBeLessThan(1e-12);
    expect(diff(matmulNT(a, transpose(b)), ref)).toBeLessThan(1e-12);
  });

  test('gramOfColumns and gramOfRows equal aᵀ·a and a·aᵀ (a zero entry skipped)', () => {
    const a = random(37, 6, 3);
    a.data[5] = 0;
    expect(diff(gramOfColumns(a), matmulTN(a, a))).toBeLessThan(1e-12);
    expect(diff(gramOfRows(transpose(a)), matmulNT(transpose(a), transpose(a)))).toBeLessThan(1e-12);
  });
});

describe('QR', () => {
  test.each([
    [12, 5],
    [5, 12],
    [9, 9],
  ])('%i×%i: q·r reconstructs, q orthonormal, r upper-triangular, |diag r| as ml-matrix', (m, n) => {
    const a = random(m, n, 3);
    const { q, r } = qr(a);
    expect(diff(matmul(q, r), a)).toBeLessThan(1e-12);
    expectOrthonormalColumns(q);
    for (let i = 0; i < r.rows; i++) for (let j = 0; j < Math.min(i, r.cols); j++) expect(r.data[i * r.cols + j]).toBe(0);
    if (m < n) return; // ml-matrix decomposes tall or square matrices only
    const ref = new QrDecomposition(toMl(a)).upperTriangularMatrix;
    for (let i = 0; i < Math.min(m, n); i++) expect(Math.abs(r.data[i * n + i])).toBeCloseTo(Math.abs(ref.get(i, i)), 10);
  });
});

describe('SVD and eigen', () => {
  test.each([
    [20, 7],
    [7, 20],
    [10, 10],
  ])('Jacobi SVD of %i×%i matches ml-matrix and reconstructs', (m, n) => {
    const a = random(m, n, 4);
    const { u, s, v } = svd(a);
    const ref = new SVD(toMl(a), { autoTranspose: true }).diagonal;
    for (let i = 0; i < s.length; i++) expect(s[i]).toBeCloseTo(ref[i], 10);
    expect(diff(compose(u, s, v), a)).toBeLessThan(1e-11);
    expectOrthonormalColumns(u);
    expectOrthonormalColumns(v);
  });

  test('a tall rank-deficient matrix (R-SVD path): zero singular values, u still orthonormal', () => {
    const a = matmul(random(30, 3, 10), random(3, 6, 11));
    const { u, s, v } = svd(a);
    for (let i = 3; i < 6; i++) expect(s[i]).toBeLessThan(1e-12);
    expect(diff(compose(u, s, v), a)).toBeLessThan(1e-11);
    expectOrthonormalColumns(u);
    expectOrthonormalColumns(v);
  });

  test('symEig of a Gram matrix: descending values, v·diag·vᵀ reconstructs', () => {
    const x = random(9, 6, 5);
    const g = matmulTN(x, x);
    const { values, vectors } = symEig(g);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    expect(diff(compose(vectors, values, vectors), g)).toBeLessThan(1e-10);
  });

  test('symEigAsync on its threads gives exactly what symEig gives in place (large and small orders, concurrently)', async () => {
    const grams = [POOL_MIN_N + 36, POOL_MIN_N, 7].map((n, i) => {
      const x = random(n + 3, n, 11 + i);
      return matmulTN(x, x);
    });
    const threaded = await Promise.all(grams.map((g) => symEigAsync(g)));
    grams.forEach((g, i) => {
      const here = symEig(g);
      expect(threaded[i].values).toEqual(here.values);
      expect(threaded[i].vectors).toEqual(here.vectors);
    });
  });

  test('gramFactorAsync and qrAsync on their threads give exactly what gramFactor and qr give in place', async () => {
    const x = random(POOL_MIN_N + 50, POOL_MIN_N + 10, 21);
    const g = matmulTN(x, x);
    const [threadedFactor, threadedQr] = await Promise.all([gramFactorAsync(g, 1e-13), qrAsync(x)]);
    expect(threadedFactor).toEqual(gramFactor(g, 1e-13));
    expect(threadedQr).toEqual(qr(x));
  });

  test('orthonormalAsync gives qr’s Q; a matrix handed over goes to the thread as it is, and only it', async () => {
    const x = random(POOL_MIN_N + 50, POOL_MIN_N + 10, 22);
    const kept = fromArray(x.rows, x.cols, x.data);
    const given = handOver(fromArray(x.rows, x.cols, x.data));
    expect(await orthonormalAsync(kept)).toEqual(qr(x).q);
    expect(kept.data).toEqual(x.data); // copied: the caller's array is intact
    expect(await orthonormalAsync(given)).toEqual(qr(x).q);
    expect(given.data.length).toBe(0); // its buffer went to the thread (detached here)
  });

  test('svdOfProduct matches the dense SVD of b·a, values and reconstruction', () => {
    const b = random(40, 6, 6);
    const a = random(6, 30, 7);
    const dense = matmul(b, a);
    const { u, s, v } = svdOfProduct(b, a);
    const ref = new SVD(toMl(dense)).diagonal;
    for (let i = 0; i < 6; i++) expect(s[i]).toBeCloseTo(ref[i], 10);
    expect(diff(compose(u, s, v), dense) / frobenius(dense)).toBeLessThan(1e-13);
    expectOrthonormalColumns(u);
    expectOrthonormalColumns(v);
  });

  test('adapterSpectra: each module matches the dense SVD of scale·B·A', async () => {
    const model = await readModelFolder(join(FIXTURE, 'base'));
    const adapter = await readAdapterFolder(join(FIXTURE, 'adapters', 'task_a'), model.config);
    const spectra = adapterSpectra(adapter);
    expect(spectra.map((s) => s.path)).toEqual(adapter.modules.map((m) => m.path));
    for (const [i, m] of adapter.modules.entries()) {
      const dense = matmul(fromArray(m.out, m.rank, m.b), fromArray(m.rank, m.in, m.a));
      const ref = new SVD(toMl(dense), { computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
      for (let j = 0; j < m.rank; j++) expect(spectra[i].s[j]).toBeCloseTo(m.scale * ref[j], 6);
    }
  });
});

describe('randomized SVD', () => {
  const lowRank = (m: number, n: number, sigma: number[]) => {
    const u = qr(random(m, sigma.length, 8)).q;
    const v = qr(random(n, sigma.length, 9)).q;
    return compose(u, Float64Array.from(sigma), v);
  };

  test('recovers a 300×200 matrix of rank 5 exactly, and is repeatable by seed', async () => {
    const sigma = [50, 20, 5, 1, 0.1];
    const a = lowRank(300, 200, sigma);
    const r = await randomizedSvd(a, 5, { seed: 42 });
    for (let i = 0; i < 5; i++) expect(r.s[i]).toBeCloseTo(sigma[i], 9);
    expect(diff(compose(r.u, r.s, r.v), a) / frobenius(a)).toBeLessThan(1e-12);
    expectOrthonormalColumns(r.u);
    expectOrthonormalColumns(r.v);
    expect((await randomizedSvd(a, 5, { seed: 42 })).s).toEqual(r.s);
  });

  test('top singular values of a full-rank matrix with a decaying spectrum match the exact SVD', async () => {
    const sigma = Array.from({ length: 40 }, (_, i) => 0.7 ** i);
    const a = lowRank(120, 80, sigma);
    const r = await randomizedSvd(a, 6, { oversample: 8, powerIterations: 3, seed: 1 });
    for (let i = 0; i < 6; i++) expect(Math.abs(r.s[i] - sigma[i]) / sigma[i]).toBeLessThan(1e-6);
  });

  test('a tall matrix, whose sketches are orthonormalised on the runtime, keeps its top singular triplets to float32 round-off', async () => {
    const decaying = lowRank(
      6000,
      300,
      Array.from({ length: 60 }, (_, i) => 0.8 ** i),
    );
    const r = await randomizedSvd(decaying, 8, { powerIterations: 3, seed: 3 });
    for (let i = 0; i < 8; i++) expect(Math.abs(r.s[i] - 0.8 ** i) / 0.8 ** i).toBeLessThan(1e-5);
    const g = matmulTN(r.u, r.u);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(Math.abs(g.data[i * 8 + j] - (i === j ? 1 : 0))).toBeLessThan(1e-5);
    // Of lower rank than the sketch: its span has too few directions for the runtime's basis, so the Householder QR completes it.
    const sigma = [50, 20, 5];
    const thin = lowRank(8000, 300, sigma);
    const t = await randomizedSvd(thin, 3, { seed: 4 });
    for (let i = 0; i < 3; i++) expect(Math.abs(t.s[i] - sigma[i]) / sigma[i]).toBeLessThan(1e-5);
    expect(diff(compose(t.u, t.s, t.v), thin) / frobenius(thin)).toBeLessThan(1e-5);
  });

  test('refuses k out of range', async () => {
    await expect(randomizedSvd(random(5, 4, 1), 5)).rejects.toThrow(/k = 5/);
    await expect(randomizedSvd(random(5, 4, 1), 0)).rejects.toThrow(/k = 0/);
  });
});
