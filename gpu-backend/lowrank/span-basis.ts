/**
 * An orthonormal basis of the span of a tall stacked factor, x = Q·R, with its large products on the runtime
 * (gemm-runner.ts): the Gram xᵀx there, a pivoted Cholesky of the N×N Gram in float64 JS, Q = x·P·R₁₁⁻¹ there;
 * then the same once more on Q (CholeskyQR2), which makes Q orthonormal to working precision where one pass
 * leaves κ²·ε. It replaces a Householder QR in JS, whose m·N² work was half of a merge's time. Columns are scaled
 * to unit norm first (the span is unchanged), so that a small task is not lost beside a large one, and directions
 * whose residual is below √tol of their column are dropped: 1e-13 on a float64 Gram, 1e-6 on a float32 one
 * (its round-off is ~1e-7), so that κ(R₁₁) stays where the second pass can repair it.
 */
import { gemm, gemmKept, onRuntime } from './gemm-runner.ts';
import { type Mat, matmul, zeros } from './linalg.ts';

/** x as its columns (m×N) or as its rows (x given N×m: the basis spans xᵀ's columns, as for [A₁;…;Aₙ]). */
export type Side = 'columns' | 'rows';

/**
 * The basis as the small map onto it: Q = x·map (x given as columns) or xᵀ·map (as rows), so that a caller keeps
 * N×q floats per module rather than m×q, and forms Q·W (its only use) as x·(map·W) when it needs it.
 */
export interface SpanBasis {
  /** N × q (q ≤ N: the numerical rank). */
  map: Mat;
  /** q × N: x (or xᵀ) = Q·r. */
  r: Mat;
}

export async function spanBasis(x: Mat, side: Side = 'columns'): Promise<SpanBasis> {
  const first = await cholBasis(x, side);
  const second = await cholBasis(await basisTimes(x, side, first.map), 'columns');
  return { map: await gemm(first.map, second.map), r: await gemm(second.r, first.r) };
}

/**
 * Q·w = x·(map·w) (or xᵀ·(map·w)): the one product of the basis a caller needs, on the runtime. Read-only (a
 * merge's U and V parts are these), so it keeps the float32 values the runtime gave for later products.
 */
export function basisTimes(x: Mat, side: Side, map: Mat, w?: Mat): Promise<Mat> {
  const m = w ? matmul(map, w) : map;
  return side === 'columns' ? gemmKept(x, m, 'nn') : gemmKept(x, m, 'tn');
}

async function cholBasis(x: Mat, side: Side): Promise<SpanBasis> {
  const [m, n] = side === 'columns' ? [x.rows, x.cols] : [x.cols, x.rows];
  const gram = side === 'columns' ? await gemm(x, x, 'tn') : await gemm(x, x, 'nt');
  return gramFactor(gram, onRuntime(n, m, n) ? 1e-6 : 1e-13);
}

/**
 * From G = xᵀx (N×N): `map` (N×q) and `r` (q×N) with x·map orthonormal and x ≈ (x·map)·r. Pivoted Cholesky of
 * D·G·D (D scales columns to unit norm): D·G·D = Pᵀ·[R₁₁ R₁₂]ᵀ[R₁₁ R₁₂]·P, so map = D·P₁·R₁₁⁻¹ and r = [R₁₁ R₁₂]·P·D⁻¹.
 * Left-looking: row q of R is the pivot's row of the Gram less the rows above it, over the columns not yet
 * chosen only (N³/6 multiply-adds, contiguous), with the pivot the largest remaining diagonal.
 */
export function gramFactor(gram: Mat, tol: number): { map: Mat; r: Mat } {
  const n = gram.rows;
  const g = gram.data;
  const d = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const x = g[j * n + j];
    d[j] = x > 0 ? 1 / Math.sqrt(x) : 0;
  }
  // Column t of rs (and of diag) is x's column perm[t]: what is left of each scaled column's squared norm.
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const diag = new Float64Array(n);
  for (let j = 0; j < n; j++) diag[j] = g[j * n + j] * d[j] * d[j];
  const rs = new Float64Array(n * n);
  let q = 0;
  for (; q < n; q++) {
    let p = q;
    for (let j = q + 1; j < n; j++) if (diag[j] > diag[p]) p = j;
    if (!(diag[p] > tol)) break;
    if (p !== q) {
      [perm[p], perm[q]] = [perm[q], perm[p]];
      [diag[p], diag[q]] = [diag[q], diag[p]];
      for (let t = 0; t < q; t++) [rs[t * n + p], rs[t * n + q]] = [rs[t * n + q], rs[t * n + p]];
    }
    const row = q * n;
    const pc = perm[q];
    const gRow = pc * n;
    const dp = d[pc];
    for (let j = q + 1; j < n; j++) rs[row + j] = g[gRow + perm[j]] * dp * d[perm[j]];
    for (let t = 0; t < q; t++) {
      const from = t * n;
      const f = rs[from + q];
      if (f === 0) continue;
      for (let j = q + 1; j < n; j++) rs[row + j] -= f * rs[from + j];
    }
    const pivot = Math.sqrt(diag[q]);
    rs[row + q] = pivot;
    for (let j = q + 1; j < n; j++) {
      const v = rs[row + j] / pivot;
      rs[row + j] = v;
      diag[j] -= v * v;
    }
  }
  // r = [R₁₁ R₁₂]·P·D⁻¹ (a zero column stays zero).
  const r = zeros(q, n);
  for (let t = 0; t < q; t++) {
    for (let j = t; j < n; j++) {
      const col = perm[j];
      if (d[col] !== 0) r.data[t * n + col] = rs[t * n + j] / d[col];
    }
  }
  // X = R₁₁⁻¹ row by row from the bottom: X[i,:] = (eᵢ − Σ_{j>i} R₁₁[i,j]·X[j,:]) / R₁₁[i,i].
  const inv = new Float64Array(q * q);
  for (let i = q - 1; i >= 0; i--) {
    const ri = i * n;
    const xi = i * q;
    inv[xi + i] = 1;
    for (let j = i + 1; j < q; j++) {
      const f = rs[ri + j];
      if (f === 0) continue;
      const xj = j * q;
      for (let c = j; c < q; c++) inv[xi + c] -= f * inv[xj + c];
    }
    const pivot = rs[ri + i];
    for (let c = i; c < q; c++) inv[xi + c] /= pivot;
  }
  const map = zeros(n, q);
  for (let t = 0; t < q; t++) {
    const row = perm[t];
    for (let c = t; c < q; c++) map.data[row * q + c] = d[row] * inv[t * q + c];
  }
  return { map, r };
}
