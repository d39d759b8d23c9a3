/**
 * The one symmetric eigensolver of lowrank/: Householder tridiagonalisation and implicit QL (EISPACK tred2/tql2,
 * as JAMA writes them), in place on caller-owned buffers. Hand-written because the constructions call it
 * hundreds of thousands of times on n×n Grams (once per factor position) and on core-space Grams of a few
 * hundred rows, where O(4n³/3 + 3n³) without allocation is what keeps a merge of the 135M shape within seconds
 * (ml-matrix's EigenvalueDecomposition allocates a Matrix per call).
 *
 * The O(n³) loops (`Hot`) run in WebAssembly SIMD once eigen-kernels.ts has loaded (the float64 threads load it
 * before taking work), else in JavaScript; both do the same arithmetic in the same order, so the results are
 * bitwise equal and only the speed depends on which ran.
 */
import { eigenKernels, type EigenKernels } from './eigen-kernels.ts';
import { zeros, type Mat } from './linalg.ts';

/** Work buffers for `eigenInPlace` on matrices up to n×n (c, s: a QL step's rotations). */
export interface EigenWork {
  d: Float64Array;
  e: Float64Array;
  c?: Float64Array;
  s?: Float64Array;
}

export function eigenWork(n: number): EigenWork {
  return { d: new Float64Array(n), e: new Float64Array(n), c: new Float64Array(n), s: new Float64Array(n) };
}

/** Order from which a solve runs in the WebAssembly kernels when they are loaded (below, copying costs more). */
export const KERNEL_MIN_N = 12;

/**
 * On entry `v` (n×n row-major, leading block of a larger buffer allowed) holds a symmetric matrix; on exit its
 * columns are orthonormal eigenvectors and `w.d[0..n)` the eigenvalues, both in DESCENDING order of value.
 * `kernels`: the WebAssembly loops, or null for the JavaScript ones (the tests run both).
 */
export function eigenInPlace(
  n: number,
  v: Float64Array,
  w: EigenWork,
  kernels: EigenKernels | null = n >= KERNEL_MIN_N ? eigenKernels() : null,
): void {
  const { d, e } = w;
  if (n === 1) {
    d[0] = v[0];
    v[0] = 1;
    return;
  }
  if (kernels) {
    const k = kernels.workspace(n);
    k.v.set(v.subarray(0, n * n));
    solve(n, k.v, k.d, k.e, k.c, k.s, wasmHot(k));
    // Rows are eigenvectors in ascending order: out column n−1−i is row i.
    for (let i = 0; i < n; i++) {
      const col = n - 1 - i;
      d[col] = k.d[i];
      for (let c = 0; c < n; c++) v[c * n + col] = k.v[i * n + c];
    }
    return;
  }
  const c = w.c && w.c.length >= n ? w.c : new Float64Array(n);
  const s = w.s && w.s.length >= n ? w.s : new Float64Array(n);
  solve(n, v, d, e, c, s, jsHot);
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

/**
 * The O(n³) loops of tred2 (step i) and tql2 (one QL step's rotations, c[i], s[i] for i in [lo, hi)), on the
 * driver's arrays. One object per implementation, so a solve allocates nothing (8×8 solves run ~300k times a merge).
 */
interface Hot {
  symv(n: number, v: Float64Array, d: Float64Array, e: Float64Array, i: number): void;
  rank2(n: number, v: Float64Array, d: Float64Array, e: Float64Array, i: number): void;
  accumulate(n: number, v: Float64Array, d: Float64Array, i: number): void;
  rotate(n: number, v: Float64Array, c: Float64Array, s: Float64Array, lo: number, hi: number): void;
}

/** The kernels work on their own workspace, where the driver's arrays are views (EigenKernels.workspace). */
const wasmHots = new WeakMap<EigenKernels, Hot>();
function wasmHot(kernels: EigenKernels): Hot {
  let hot = wasmHots.get(kernels);
  if (!hot) {
    const { k, at } = kernels;
    hot = {
      symv: (n, _v, _d, _e, i) => k.symv(0, n, i, at.d, at.e),
      rank2: (n, _v, _d, _e, i) => k.rank2(0, n, i, at.d, at.e),
      accumulate: (n, _v, _d, i) => k.accumulate(0, n, i, at.d),
      rotate: (n, _v, _c, _s, lo, hi) => k.rotate(0, n, lo, hi, at.c, at.s),
    };
    wasmHots.set(kernels, hot);
  }
  return hot;
}

/** The same loops in JavaScript. */
const jsHot: Hot = { symv: symvJs, rank2: rank2Js, accumulate: accumulateJs, rotate: rotateJs };

function symvJs(n: number, v: Float64Array, d: Float64Array, e: Float64Array, i: number): void {
  for (let j = 0; j < i; j++) {
    const f = d[j];
    v[i * n + j] = f;
    let g = e[j] + v[j * n + j] * f;
    for (let k = j + 1; k <= i - 1; k++) {
      g += v[j * n + k] * d[k];
      e[k] += v[j * n + k] * f;
    }
    e[j] = g;
  }
}

function rank2Js(n: number, v: Float64Array, d: Float64Array, e: Float64Array, i: number): void {
  for (let j = 0; j < i; j++) {
    const f = d[j];
    const g = e[j];
    for (let k = j; k <= i - 1; k++) v[j * n + k] -= f * e[k] + g * d[k];
    d[j] = v[j * n + i - 1];
    v[j * n + i] = 0;
  }
}

function accumulateJs(n: number, v: Float64Array, d: Float64Array, i: number): void {
  for (let j = 0; j <= i; j++) {
    let g = 0;
    for (let k = 0; k <= i; k++) g += v[(i + 1) * n + k] * v[j * n + k];
    for (let k = 0; k <= i; k++) v[j * n + k] -= g * d[k];
  }
}

function rotateJs(n: number, v: Float64Array, cs: Float64Array, ss: Float64Array, lo: number, hi: number): void {
  for (let i = hi - 1; i >= lo; i--) {
    const c = cs[i];
    const s = ss[i];
    const ri = i * n;
    const ri1 = ri + n;
    for (let k = 0; k < n; k++) {
      const h = v[ri1 + k];
      v[ri1 + k] = s * v[ri + k] + c * h;
      v[ri + k] = c * v[ri + k] - s * h;
    }
  }
}

/**
 * tred2 then tql2 on the eigenvectors as rows (the transpose of EISPACK's layout; the input is symmetric), so that
 * every rotation and update walks contiguous memory. Leaves the rows and `d` in ascending order of value.
 */
function solve(n: number, v: Float64Array, d: Float64Array, e: Float64Array, c: Float64Array, s: Float64Array, hot: Hot): void {
  tred2(n, v, d, e, hot);
  tql2(n, v, d, e, c, s, hot);
}

function tred2(n: number, v: Float64Array, d: Float64Array, e: Float64Array, hot: Hot): void {
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
      hot.symv(n, v, d, e, i);
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      hot.rank2(n, v, d, e, i);
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    v[i * n + n - 1] = v[i * n + i];
    v[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[(i + 1) * n + k] / h;
      hot.accumulate(n, v, d, i);
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

function tql2(n: number, v: Float64Array, d: Float64Array, e: Float64Array, cs: Float64Array, ss: Float64Array, hot: Hot): void {
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
          cs[i] = c;
          ss[i] = s;
        }
        // The step's rotations touch the eigenvectors only, so they run after its recurrence, all at once.
        hot.rotate(n, v, cs, ss, l, m);
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
