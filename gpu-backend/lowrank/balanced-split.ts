/**
 * The one √S re-split of lowrank/: a delta known by its SVD U·S·Vᵀ written as LoRA factors B = U·√S, A = √S·Vᵀ,
 * the split that keeps B and A of one scale (what PEFT users expect of a trained adapter and what quantizing the
 * factors needs), and the numerical rank a rebuilt delta is compacted to.
 */
import { type Mat, type Svd, svdOfProduct, zeros } from './linalg.ts';

/** Singular values below this fraction of the largest are round-off of a lower-rank delta. */
const NUMERICAL_ZERO = 1e-9;

/** How many of `s` (descending) are above round-off; at least 1, so a zero delta stays a valid rank-1 adapter. */
export function numericalRank(s: Float64Array): number {
  let keep = 0;
  while (keep < s.length && s[keep] > NUMERICAL_ZERO * s[0]) keep++;
  return Math.max(keep, 1);
}

/** B = U_k·√S_k (m×k), A = √S_k·V_kᵀ (k×n) from the first k singular triplets. */
export function balancedSplit({ u, s, v }: Svd, k: number): { b: Mat; a: Mat } {
  const b = zeros(u.rows, k);
  const a = zeros(k, v.rows);
  for (let j = 0; j < Math.min(k, s.length); j++) {
    const root = Math.sqrt(s[j]);
    for (let i = 0; i < u.rows; i++) b.data[i * k + j] = u.data[i * u.cols + j] * root;
    for (let i = 0; i < v.rows; i++) a.data[j * v.rows + i] = v.data[i * v.cols + j] * root;
  }
  return { b, a };
}

/** b·a re-split at its numerical rank (keeps rebuilt ranks servable). */
export function compact(b: Mat, a: Mat): { b: Mat; a: Mat } {
  const svd = svdOfProduct(b, a);
  return balancedSplit(svd, numericalRank(svd.s));
}
