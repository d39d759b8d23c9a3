/**
 * The one symmetric eigensolver of lowrank/: Householder tridiagonalisation and implicit QL (EISPACK tred2/tql2,
 * as JAMA writes them), in place on caller-owned buffers. Hand-written because the constructions call it
 * hundreds of thousands of times on n×n Grams (once per factor position) and on core-space Grams of a few
 * hundred rows, where O(4n³/3 + 3n³) without allocation is what keeps a merge of the 135M shape within seconds
 * (ml-matrix's EigenvalueDecomposition allocates a Matrix per call).
 *
 * The solve runs in WebAssembly SIMD (eigen-kernels.wat, ~5× less CPU at n = 128) once eigen-kernels.ts has
 * loaded (the float64 threads load it before taking work), else in JavaScript below. Both do the same arithmetic
 * in the same order, so the results are bitwise equal and only the speed depends on which ran.
 */
import { eigenKernels, type EigenKernels } from './eigen-kernels.ts';
import { zeros, type Mat } from './linalg.ts';

/** Work buffers for `eigenInPlace` on matrices up to n×n. */
export interface EigenWork {
  d: Float64Array;
  e: Float64Array;
}

export function eigenWork(n: number): EigenWork {
  return { d: new Float64Array(n), e: new Float64Array(n) };
}

/**
 * On entry `v` (n×n row-major, leading block of a larger buffer allowed) holds a symmetric matrix; on exit its
 * columns are orthonormal eigenvectors and `w.d[0..n)` the eigenvalues, both in DESCENDING order of value.
 * `kernels`: the WebAssembly solver, or null for the JavaScript one (the tests run both).
 */
export function eigenInPlace(n: number, v: Float64Array, w: EigenWork, kernels: EigenKernels | null = eigenKernels()): void {
  const { d, e } = w;
  if (n === 1) {
    d[0] = v[0];
    v[0] = 1;
    return;
  }
  if (kernels) {
    const k = kernels.workspace(n);
    k.v.set(v.subarray(0, n * n));
    k.eigenRows(n);
    // Rows are eigenvectors in ascending order: column n−1−i of the result is row i.
    for (let i = 0; i < n; i++) {
      const col = n - 1 - i;
      d[col] = k.d[i];
      for (let c = 0; c < n; c++) v[c * n + col] = k.v[i * n + c];
    }
    return;
  }
  // Both run on the eigenvectors as rows (the transpose of EISPACK's layout; the input is symmetric), so that
  // every rotation and update walks contiguous memory: 12% less CPU at n = 128 than the column layout.
  tred2(n, v, d, e);
  tql2(n, v, d, e);
  // tql2 leaves ascending order; reverse the rows and values, then make the rows columns.
  for (let lo = 0, hi = n - 1; lo < hi; lo++, hi--) {
    const t = d[lo];
    d[lo] = d[hi];
    d[hi] = t;
    for (let k = 0; k < n; k++) {
      const x = v[lo * n + k];
      v[lo * n + k] = v[hi * n + k];
      v[hi * n + k] = x;
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const x = v[i * n + j];
      v[i * n + j] = v[j * n + i];
      v[j * n + i] = x;
    }
  }
}

/** Allocating convenience: eigenvalues descending, eigenvectors as columns. */
export function symEig(s: Mat): { values: Float64Array; vectors: Mat } {
  const n = s.rows;
  if (s.cols !== n) throw new Error(`symEig: ${s.rows}×${s.cols} is not square`);
  const vectors = zeros(n, n);
  vectors.data.set(s.data);
  const w = eigenWork(n);
  if (n > 0) eigenInPlace(n, vectors.data, w);
  return { values: w.d, vectors };
}

function tred2(n: number, v: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = v[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[j * n + i - 1];
        v[j * n + i] = 0;
        v[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        v[i * n + j] = f;
        g = e[j] + v[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[j * n + k] * d[k];
          e[k] += v[j * n + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) v[j * n + k] -= f * e[k] + g * d[k];
        d[j] = v[j * n + i - 1];
        v[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    v[i * n + n - 1] = v[i * n + i];
    v[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[(i + 1) * n + k] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[(i + 1) * n + k] * v[j * n + k];
        for (let k = 0; k <= i; k++) v[j * n + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) v[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[j * n + n - 1];
    v[j * n + n - 1] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(n: number, v: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      for (let iter = 0; iter < 60; iter++) {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.sqrt(p * p + 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.sqrt(p * p + e[i] * e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const ri = i * n;
          const ri1 = ri + n;
          for (let k = 0; k < n; k++) {
            h = v[ri1 + k];
            v[ri1 + k] = s * v[ri + k] + c * h;
            v[ri + k] = c * v[ri + k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > eps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
  // Selection sort, ascending (n is small; keeps vectors with their values).
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i];
    for (let j = i + 1; j < n; j++) {
      if (d[j] < p) {
        k = j;
        p = d[j];
      }
    }
    if (k !== i) {
      d[k] = d[i];
      d[i] = p;
      for (let j = 0; j < n; j++) {
        const x = v[i * n + j];
        v[i * n + j] = v[k * n + j];
        v[k * n + j] = x;
      }
    }
  }
}
