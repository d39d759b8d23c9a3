/**
 * The pivoted Cholesky of a Gram that span-basis.ts's CholeskyQR2 rests on: from G = xᵀx, a map onto an
 * orthonormal basis of x's span and x's coordinates in it, in float64 JS (N×N work only).
 */
import { type Mat, zeros } from './linalg.ts';

/**
 * From G = xᵀx (N×N): `map` (N×q) and `r` (q×N) with x·map orthonormal and x ≈ (x·map)·r. Pivoted Cholesky of
 * D·G·D (D scales columns to unit norm): D·G·D = Pᵀ·[R₁₁ R₁₂]ᵀ[R₁₁ R₁₂]·P, so map = D·P₁·R₁₁⁻¹ and r = [R₁₁ R₁₂]·P·D⁻¹.
 * Left-looking: row q of R is the pivot's row of the Gram less the rows above it, over the columns not yet
 * chosen only (N³/6 multiply-adds, contiguous), with the pivot the largest remaining diagonal.
 */
export function gramFactor(gram: Mat, tol: number): { map: Mat; r: Mat; spread: number } {
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
  // (largest / smallest pivot)²: a lower estimate of κ(R₁₁)², by which x·map's loss of orthogonality grows.
  const spread = q > 0 ? (rs[0] / rs[(q - 1) * n + q - 1]) ** 2 : 1;
  return { map, r, spread };
}
