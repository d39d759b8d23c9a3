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
  return { map: matmul(first.map, second.map), r: matmul(second.r, first.r) };
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
 */
export function gramFactor(gram: Mat, tol: number): { map: Mat; r: Mat } {
  const n = gram.rows;
  const d = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const g = gram.data[j * n + j];
    d[j] = g > 0 ? 1 / Math.sqrt(g) : 0;
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = gram.data[i * n + j] * d[i] * d[j];
  const perm = Array.from({ length: n }, (_, i) => i);
  let q = 0;
  for (; q < n; q++) {
    let p = q;
    for (let i = q + 1; i < n; i++) if (a[i * n + i] > a[p * n + p]) p = i;
    if (!(a[p * n + p] > tol)) break;
    if (p !== q) swapSymmetric(a, n, p, q, perm);
    const pivot = Math.sqrt(a[q * n + q]);
    a[q * n + q] = pivot;
    for (let j = q + 1; j < n; j++) a[q * n + j] /= pivot;
    // The trailing block in full (both triangles), so that a pivot swap is two row and column swaps.
    for (let i = q + 1; i < n; i++) {
      const ri = a[q * n + i];
      if (ri === 0) continue;
      for (let j = q + 1; j < n; j++) a[i * n + j] -= ri * a[q * n + j];
    }
  }
  // r = [R₁₁ R₁₂] with columns back in x's order, each divided by its scale.
  const r = zeros(q, n);
  for (let t = 0; t < n; t++) {
    const col = perm[t];
    if (d[col] === 0) continue;
    for (let i = 0; i < Math.min(q, t + 1); i++) r.data[i * n + col] = a[i * n + t] / d[col];
  }
  // R₁₁⁻¹ (upper-triangular, q×q) by back substitution, then its rows placed at the pivot columns, scaled.
  const inv = new Float64Array(q * q);
  for (let c = 0; c < q; c++) {
    inv[c * q + c] = 1 / a[c * n + c];
    for (let i = c - 1; i >= 0; i--) {
      let s = 0;
      for (let j = i + 1; j <= c; j++) s += a[i * n + j] * inv[j * q + c];
      inv[i * q + c] = -s / a[i * n + i];
    }
  }
  const map = zeros(n, q);
  for (let t = 0; t < q; t++) {
    const row = perm[t];
    for (let c = t; c < q; c++) map.data[row * q + c] = d[row] * inv[t * q + c];
  }
  return { map, r };
}

/** Swaps rows p and q and columns p and q (full storage): in rows above q that swaps R's entries, below a symmetric permutation. */
function swapSymmetric(a: Float64Array, n: number, p: number, q: number, perm: number[]): void {
  [perm[p], perm[q]] = [perm[q], perm[p]];
  for (let j = 0; j < n; j++) [a[p * n + j], a[q * n + j]] = [a[q * n + j], a[p * n + j]];
  for (let i = 0; i < n; i++) [a[i * n + p], a[i * n + q]] = [a[i * n + q], a[i * n + p]];
}
