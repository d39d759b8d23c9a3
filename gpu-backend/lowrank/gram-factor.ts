/**
 * The pivoted Cholesky of a Gram that span-basis.ts's CholeskyQR2 rests on: from G = xᵀx, a map onto an
 * orthonormal basis of x's span and x's coordinates in it, in float64 JS (N×N work only).
 */
import { choleskyKernels, loadCholeskyKernels, ROW_PAD } from './cholesky-kernels.ts';
import { type Mat, zeros } from './linalg.ts';

// The kernels are bitwise the JavaScript loops, so a factor before they have loaded loses only speed.
loadCholeskyKernels().catch(() => {});

/** Order from which the two N³/6 loops run in WebAssembly (cholesky-kernels.wat, bitwise these loops). */
const KERNEL_MIN_N = 16;

/**
 * Where the factor's rows live and who runs its two N³/6 loops: the WebAssembly kernels on their memory (rows padded
 * for their lanes) once loaded, else the JavaScript below on plain arrays. Both do the same operations in the same
 * order, so the factor is bitwise the same either way.
 */
interface Loops {
  rs: Float64Array;
  /** Row stride of rs. */
  sr: number;
  eliminate(q: number): void;
  /** R₁₁⁻¹ and its row stride. */
  invert(q: number): { inv: Float64Array; sx: number };
}

function loopsFor(n: number, javascript: boolean): Loops {
  const kernels = javascript || n < KERNEL_MIN_N ? null : choleskyKernels();
  const rs = kernels?.workspace(n);
  if (kernels && rs)
    return { rs, sr: n + ROW_PAD, eliminate: (q) => kernels.eliminate(q), invert: (q) => ({ inv: kernels.invert(q), sx: q + ROW_PAD }) };
  const plain = new Float64Array(n * n);
  return { rs: plain, sr: n, eliminate: (q) => eliminate(plain, n, q), invert: (q) => ({ inv: invert(plain, n, q), sx: q }) };
}

/** Row q of rs less the rows above it, over the columns not yet chosen (j > q). */
function eliminate(rs: Float64Array, n: number, q: number): void {
  const row = q * n;
  for (let t = 0; t < q; t++) {
    const from = t * n;
    const f = rs[from + q];
    if (f === 0) continue;
    for (let j = q + 1; j < n; j++) rs[row + j] -= f * rs[from + j];
  }
}

/** X = R₁₁⁻¹ row by row from the bottom: X[i,:] = (eᵢ − Σ_{j>i} R₁₁[i,j]·X[j,:]) / R₁₁[i,i]. */
function invert(rs: Float64Array, n: number, q: number): Float64Array {
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
  return inv;
}

/**
 * From G = xᵀx (N×N): `map` (N×q) and `r` (q×N) with x·map orthonormal and x ≈ (x·map)·r. Pivoted Cholesky of
 * D·G·D (D scales columns to unit norm): D·G·D = Pᵀ·[R₁₁ R₁₂]ᵀ[R₁₁ R₁₂]·P, so map = D·P₁·R₁₁⁻¹ and r = [R₁₁ R₁₂]·P·D⁻¹.
 * Left-looking: row q of R is the pivot's row of the Gram less the rows above it, over the columns not yet
 * chosen only (N³/6 multiply-adds, contiguous), with the pivot the largest remaining diagonal.
 */
export function gramFactor(gram: Mat, tol: number, javascript = false): { map: Mat; r: Mat; spread: number } {
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
  const { rs, sr, ...loops } = loopsFor(n, javascript);
  let q = 0;
  for (; q < n; q++) {
    let p = q;
    for (let j = q + 1; j < n; j++) if (diag[j] > diag[p]) p = j;
    if (!(diag[p] > tol)) break;
    if (p !== q) {
      [perm[p], perm[q]] = [perm[q], perm[p]];
      [diag[p], diag[q]] = [diag[q], diag[p]];
      for (let t = 0; t < q; t++) [rs[t * sr + p], rs[t * sr + q]] = [rs[t * sr + q], rs[t * sr + p]];
    }
    const row = q * sr;
    const pc = perm[q];
    const gRow = pc * n;
    const dp = d[pc];
    for (let j = q + 1; j < n; j++) rs[row + j] = g[gRow + perm[j]] * dp * d[perm[j]];
    loops.eliminate(q);
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
      if (d[col] !== 0) r.data[t * n + col] = rs[t * sr + j] / d[col];
    }
  }
  const { inv, sx } = loops.invert(q);
  const map = zeros(n, q);
  for (let t = 0; t < q; t++) {
    const row = perm[t];
    for (let c = t; c < q; c++) map.data[row * q + c] = d[row] * inv[t * sx + c];
  }
  // (largest / smallest pivot)²: a lower estimate of κ(R₁₁)², by which x·map's loss of orthogonality grows.
  const spread = q > 0 ? (rs[0] / rs[(q - 1) * sr + q - 1]) ** 2 : 1;
  return { map, r, spread };
}
