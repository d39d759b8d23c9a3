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
import { gramFactorAsync } from './float64-pool.ts';
import type { Mat } from './linalg.ts';

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

/**
 * Loss of orthogonality of x·map accepted from one pass: one pass leaves about κ²·(the Gram's rounding), so the
 * second pass runs only where the pivots say κ² is large (ill-conditioned or nearly dependent columns; random
 * and most trained factors are well conditioned and skip it).
 */
export const ONE_PASS_ORTHOGONALITY = 1e-5;

export async function spanBasis(x: Mat, side: Side = 'columns'): Promise<SpanBasis> {
  const first = await cholBasis(x, side);
  if (first.spread * first.rounding <= ONE_PASS_ORTHOGONALITY) return { map: first.map, r: first.r };
  const second = await cholBasis(await basisTimes(x, side, first.map), 'columns');
  return { map: await gemm(first.map, second.map), r: await gemm(second.r, first.r) };
}

/**
 * Q·w = x·(map·w) (or xᵀ·(map·w)): the one product of the basis a caller needs, on the runtime. Read-only (an
 * SVD's factors, the second pass's basis), so it keeps the float32 values the runtime gave for later products.
 */
export async function basisTimes(x: Mat, side: Side, map: Mat, w?: Mat): Promise<Mat> {
  const m = w ? await gemm(map, w) : map;
  return side === 'columns' ? gemmKept(x, m, 'nn') : gemmKept(x, m, 'tn');
}

async function cholBasis(x: Mat, side: Side): Promise<SpanBasis & { spread: number; rounding: number }> {
  const [m, n] = side === 'columns' ? [x.rows, x.cols] : [x.cols, x.rows];
  const gram = side === 'columns' ? await gemm(x, x, 'tn') : await gemm(x, x, 'nt');
  const float32 = onRuntime(n, m, n);
  return { ...(await gramFactorAsync(gram, float32 ? 1e-6 : 1e-13)), rounding: float32 ? 2 ** -24 : 2 ** -53 };
}
