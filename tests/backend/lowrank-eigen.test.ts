import { describe, expect, test } from 'vitest';
import { eigenInPlaceReference } from '../../bench/eigen-reference.ts';
import { loadEigenKernels } from '../../gpu-backend/lowrank/eigen-kernels.ts';
import { type Mat, matmulTN } from '../../gpu-backend/lowrank/linalg.ts';
import { factorModule } from '../../gpu-backend/lowrank/reversible-factor.ts';
import type { AlignedModule } from '../../gpu-backend/lowrank/reversible-types.ts';
import { gaussian } from '../../gpu-backend/lowrank/svd.ts';
import { eigenInPlace, eigenWork } from '../../gpu-backend/lowrank/symmetric-eigen.ts';
import { randomMat } from './helpers.ts';

/** Q·diag(values)·Qᵀ for a random orthogonal Q (from the reference solver on a random Gram). */
function withSpectrum(values: number[], seed: number): Float64Array {
  const n = values.length;
  const x = gaussian(n + 2, n, seed);
  const q = new Float64Array(matmulTN(x, x).data);
  eigenInPlaceReference(n, q, { d: new Float64Array(n), e: new Float64Array(n) });
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * values[k] * q[j * n + k];
      a[i * n + j] = s;
    }
  // Exactly symmetric, as the solvers assume.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i];
  return a;
}

function symmetric(n: number, seed: number): Float64Array {
  const x = gaussian(n, n, seed).data;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = x[i * n + j] + x[j * n + i];
  return a;
}

function diagonal(values: number[]): Float64Array {
  const n = values.length;
  const a = new Float64Array(n * n);
  values.forEach((x, i) => (a[i * n + i] = x));
  return a;
}

const cases: [string, Float64Array][] = [
  ...[2, 3, 5, 8, 13, 64, 128, 130].map((n): [string, Float64Array] => [`random ${n}`, symmetric(n, n)]),
  ['random Gram 129', matmulTN(gaussian(140, 129, 3), gaussian(140, 129, 3)).data],
  ['rank 5 Gram of order 40', matmulTN(gaussian(5, 40, 4), gaussian(5, 40, 4)).data],
  ['rank 16 Gram of order 128', matmulTN(gaussian(16, 128, 5), gaussian(16, 128, 5)).data],
  ['repeated eigenvalues, order 33', withSpectrum([...Array(10).fill(3), ...Array(12).fill(-1), ...Array(11).fill(0)], 6)],
  [
    'two clusters, order 128',
    withSpectrum(
      Array.from({ length: 128 }, (_, i) => (i < 64 ? 2 : 1e-3)),
      7,
    ),
  ],
  ['diagonal, unsorted, with repeats', diagonal([3, -1, 7, 7, 0, 2.5, -1, 9, 0.25, 7, 1, 4, 4])],
  ['identity of order 20', diagonal(Array(20).fill(1))],
  ['zeros of order 16', new Float64Array(256)],
];

function solve(
  a: Float64Array,
  how: 'reference' | 'js' | 'kernels',
  kernels = null as Awaited<ReturnType<typeof loadEigenKernels>> | null,
) {
  const n = Math.round(Math.sqrt(a.length));
  const v = new Float64Array(a);
  const w = eigenWork(n);
  if (how === 'reference') eigenInPlaceReference(n, v, w);
  else eigenInPlace(n, v, w, how === 'js' ? null : kernels);
  return { n, values: w.d, vectors: v };
}

describe('the symmetric eigensolver', () => {
  test.each(cases)('%s: the WebAssembly and the JavaScript loops give bitwise the reference (the solver before them)', async (_, a) => {
    const kernels = await loadEigenKernels();
    const reference = solve(a, 'reference');
    for (const how of ['js', 'kernels'] as const) {
      const got = solve(a, how, kernels);
      expect(got.values).toEqual(reference.values);
      expect(got.vectors).toEqual(reference.vectors);
    }
  });

  test.each(cases)('%s: descending values, orthonormal vectors within 1e-13, V·Λ·Vᵀ rebuilds', async (_, a) => {
    const { n, values, vectors: v } = solve(a, 'kernels', await loadEigenKernels());
    for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    let orth = 0;
    let rebuild = 0;
    let norm = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let dot = 0;
        let back = 0;
        for (let k = 0; k < n; k++) {
          dot += v[k * n + i] * v[k * n + j];
          back += v[i * n + k] * values[k] * v[j * n + k];
        }
        orth = Math.max(orth, Math.abs(dot - (i === j ? 1 : 0)));
        rebuild = Math.max(rebuild, Math.abs(back - a[i * n + j]));
        norm = Math.max(norm, Math.abs(a[i * n + j]));
      }
    expect(orth).toBeLessThan(1e-13);
    expect(rebuild).toBeLessThanOrEqual(1e-12 * Math.max(norm, 1e-300) * n);
  });
});

describe("rmm_factor's per-position fit", () => {
  const out = 300;
  const inDim = 37;
  const factor = (b: Mat, a: Mat) => ({ layer: 0, projection: 'q_proj' as const, path: 'model.layers.0.self_attn.q_proj', b, a });
  const slot = (factors: (ReturnType<typeof factor> | null)[]): AlignedModule => ({
    layer: 0,
    projection: 'q_proj',
    path: 'model.layers.0.self_attn.q_proj',
    out,
    in: inDim,
    factors,
  });
  const random = (r: number, seed: number) => factor(randomMat(out, r, seed), randomMat(r, inDim, seed + 100));
  // Rows 0..50 and every seventh row after of B all zero in every task: positions whose X is zero (no eigenproblem),
  // whole groups of four positions and one or three of a group (the rest solved in pairs or alone).
  const zeroRows = (f: ReturnType<typeof factor>) => {
    const b = { ...f.b, data: new Float64Array(f.b.data) };
    b.data.fill(0, 0, 51 * b.cols);
    for (let row = 57; row < out; row += 7) b.data.fill(0, row * b.cols, (row + 1) * b.cols);
    return { ...f, b };
  };
  const twin = random(6, 7);
  // Neighbouring positions unlike each other, so the two lanes of a pair take different QL paths: a random row, a
  // row whose tasks repeat in pairs (zero eigenvalues, early splits), and a row of small integers where task 1 is
  // the mean of tasks 0 and 2 (a zero row in the Gram: tred2's zero-scale step).
  const unlike = Array.from({ length: 6 }, (_, i) => random(8, 40 + i));
  for (let row = 0; row < out; row++)
    for (let k = 0; k < 8; k++) {
      const at = row * 8 + k;
      if (row % 3 === 1) for (let i = 1; i < 6; i += 2) unlike[i].b.data[at] = unlike[i - 1].b.data[at];
      if (row % 3 === 2) {
        const mean = ((row + k) % 7) - 3;
        const step = (k % 3) - 1;
        unlike[0].b.data[at] = mean + step;
        unlike[1].b.data[at] = mean;
        unlike[2].b.data[at] = mean - step;
        for (let i = 3; i < 6; i++) unlike[i].b.data[at] = ((row * (i + 1) + k) % 5) - 2;
      }
    }
  const cases: [string, AlignedModule, number][] = [
    ['neighbouring positions unlike each other (pairs whose lanes diverge), p = 3', slot(unlike), 3],
    ['8 tasks of rank 16, p = 4', slot(Array.from({ length: 8 }, (_, i) => random(16, 10 + i))), 4],
    ['mixed ranks and a task lacking the module, p = 2', slot([random(5, 1), random(3, 2), null, random(5, 3), random(4, 4)]), 2],
    ['repeated tasks (repeated and zero eigenvalues), p = 3', slot([twin, twin, random(6, 8), twin, random(6, 9)]), 3],
    ['positions where every task is zero, p = 5 of 6', slot(Array.from({ length: 6 }, (_, i) => zeroRows(random(8, 20 + i)))), 5],
  ];

  test('few tasks, rank equal to the tasks, p = 1 and p = n − 1, an odd count of positions: bitwise the JavaScript fit', async () => {
    const kernels = await loadEigenKernels();
    for (const n of [2, 3, 8])
      for (const r of [n, 16])
        for (const p of [1, n - 1]) {
          const s = slot(Array.from({ length: n }, (_, i) => random(i === 1 ? r - 1 || 1 : r, 60 + 7 * n + r + i)));
          expect(factorModule(s, p, false, kernels).parts).toEqual(factorModule(s, p, false, null).parts);
        }
  });

  test('each position keeps the best rank-p fit of its centred tasks: what it drops is the n − p smallest eigenvalues of their n×n Gram', async () => {
    const kernels = await loadEigenKernels();
    for (const [n, p] of [
      [8, 4],
      [5, 1],
      [3, 2],
      [2, 1],
    ]) {
      const factors = Array.from({ length: n }, (_, i) => random(16, 300 + 10 * n + i));
      const { parts } = factorModule(slot(factors), p, false, kernels);
      for (let pos = 0; pos < out; pos += 13) {
        const x = factors.map((f) => Array.from({ length: 16 }, (_, k) => f.b.data[pos * 16 + k]));
        const mu = Array.from({ length: 16 }, (_, k) => parts.muB.data[pos * 16 + k]);
        const gram = new Float64Array(n * n);
        let dropped = 0;
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < 16; k++) {
            let rebuilt = mu[k];
            for (let j = 0; j < p; j++) rebuilt += parts.coefB.data[pos * n * p + i * p + j] * parts.basisB.data[pos * p * 16 + j * 16 + k];
            dropped += (x[i][k] - rebuilt) ** 2;
          }
          for (let b = 0; b < n; b++) for (let k = 0; k < 16; k++) gram[i * n + b] += (x[i][k] - mu[k]) * (x[b][k] - mu[k]);
        }
        const w = eigenWork(n);
        eigenInPlace(n, gram, w, null);
        const trace = w.d.reduce((a, b) => a + b, 0);
        const smallest = w.d.slice(p).reduce((a, b) => a + b, 0);
        expect(Math.abs(dropped - smallest)).toBeLessThan(1e-12 * trace);
      }
    }
  });

  test.each(cases)('%s: the batched WebAssembly fit gives bitwise the JavaScript one, both sides, both forms', async (_, s, p) => {
    const kernels = await loadEigenKernels();
    for (const svdForm of [false, true])
      expect(factorModule(s, p, svdForm, kernels).parts).toEqual(factorModule(s, p, svdForm, null).parts);
  });
});
