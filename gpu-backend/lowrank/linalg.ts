/**
 * Dense float64 linear algebra for the low-rank code: products, thin QR, symmetric eigen and SVD.
 *
 * Written by hand on typed arrays because the maintained pure-JS option, ml-matrix, measured here at
 * 0.4 GFLOP/s for a 1536×576×128 product and 3.5 s for one 576×576 SVD (element access through methods);
 * the blocked kernel below runs the same product at ~4 GFLOP/s. ml-matrix stays the reference the tests
 * compare these kernels against. Everything is float64 so that float32 adapters round-trip to float error.
 */

import { loadProductKernels, productKernels } from './product-kernels.ts';
import { loadQrKernels, qrKernels } from './qr-kernels.ts';

// The WebAssembly product and QR are bitwise the JavaScript, so one before they have loaded loses only speed.
loadProductKernels().catch(() => {});
loadQrKernels().catch(() => {});

/** A row-major matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function fromArray(rows: number, cols: number, data: ArrayLike<number>): Mat {
  if (data.length !== rows * cols) throw new Error(`fromArray: ${data.length} values for a ${rows}×${cols} matrix`);
  return { rows, cols, data: Float64Array.from(data) };
}

export function toFloat32(m: Mat): Float32Array {
  return Float32Array.from(m.data);
}

export function identity(n: number): Mat {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** In 32×32 tiles, so that both the reads and the strided writes stay in cache on large matrices. */
export function transpose(a: Mat): Mat {
  const { rows: m, cols: n } = a;
  const t = zeros(n, m);
  const src = a.data;
  const dst = t.data;
  for (let i0 = 0; i0 < m; i0 += 32) {
    const i1 = Math.min(i0 + 32, m);
    for (let j0 = 0; j0 < n; j0 += 32) {
      const j1 = Math.min(j0 + 32, n);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) dst[j * m + i] = src[i * n + j];
    }
  }
  return t;
}

/** a·b, as a·(bᵀ)ᵀ: transposing b costs O(k·n) and lets the product run on the blocked row-dot kernel. */
export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}×${a.cols} · ${b.rows}×${b.cols}`);
  return productOf(a, b) ?? rowDots(a, transpose(b));
}

/**
 * matmulTN's values for a caller that reads them at once: where the WebAssembly kernel runs, a view of its memory,
 * valid until the next product on this thread (no array is made for a result that is read once and dropped).
 */
export function matmulTNTransient(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows) throw new Error(`matmulTN: (${a.rows}×${a.cols})ᵀ · ${b.rows}×${b.cols}`);
  if (b.cols === 1) return transposedTimesVector(a, b);
  return productOf(a, b, true, true) ?? rowDots(transpose(a), transpose(b));
}

/** matmul's values for a caller that reads them at once, as matmulTNTransient. */
export function matmulTransient(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}×${a.cols} · ${b.rows}×${b.cols}`);
  return productOf(a, b, false, true) ?? rowDots(a, transpose(b));
}

/** aᵀ·b without the caller forming aᵀ. */
export function matmulTN(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows) throw new Error(`matmulTN: (${a.rows}×${a.cols})ᵀ · ${b.rows}×${b.cols}`);
  if (b.cols === 1) return transposedTimesVector(a, b);
  return productOf(a, b, true) ?? rowDots(transpose(a), transpose(b));
}

/** a·bᵀ without forming bᵀ: each entry is a dot product of two contiguous rows. */
export function matmulNT(a: Mat, b: Mat): Mat {
  if (a.cols !== b.cols) throw new Error(`matmulNT: ${a.rows}×${a.cols} · (${b.rows}×${b.cols})ᵀ`);
  return (productKernels() && a.rows * a.cols * b.rows >= WASM_MIN_MACS && productOf(a, transpose(b))) || rowDots(a, b);
}

/**
 * aᵀ·b for a single column b (a basis of size 1), without transposing a: a's rows scaled and added in order, so each
 * entry is summed over p from 0 as rowDots sums it.
 */
function transposedTimesVector(a: Mat, b: Mat): Mat {
  const { rows: k, cols: m } = a;
  const c = new Float64Array(m);
  const ad = a.data;
  for (let p = 0; p < k; p++) {
    const y = b.data[p];
    const row = p * m;
    for (let i = 0; i < m; i++) c[i] += ad[row + i] * y;
  }
  return { rows: m, cols: 1, data: c };
}

/** Below this many multiply-adds copying into the kernel's memory costs more than the JavaScript loop. */
const WASM_MIN_MACS = 4096;

/**
 * a·b (aᵀ·b where `aTransposed`) on the WebAssembly kernel (two f64x2 lanes across columns; the JavaScript is
 * scalar), or null where it has not loaded or the product is too small. The kernel leaves an odd last row and
 * column, summed here in its order.
 */
function productOf(a: Mat, b: Mat, aTransposed = false, inPlace = false): Mat | null {
  const kernels = productKernels();
  const [m, k] = aTransposed ? [a.cols, a.rows] : [a.rows, a.cols];
  const n = b.cols;
  if (!kernels || m < 2 || n < 2 || m * k * n < WASM_MIN_MACS) return null;
  const c = kernels.product(a.data, b.data, m, k, n, aTransposed, inPlace);
  const ad = a.data;
  const bd = b.data;
  // a's entry (i, p) sits at i·rowA + p·stepA.
  const [rowA, stepA] = aTransposed ? [1, m] : [k, 1];
  const col = (i: number, j: number) => {
    let s = 0;
    for (let p = 0; p < k; p++) s += ad[i * rowA + p * stepA] * bd[p * n + j];
    c[i * n + j] = s;
  };
  if (n % 2) for (let i = 0; i < m; i++) col(i, n - 1);
  if (m % 2) for (let j = 0; j < n - (n % 2); j++) col(m - 1, j);
  return { rows: m, cols: n, data: c };
}

/**
 * c[i][j] = a row i · b row j. Blocked 2 rows of a × 4 rows of b so that each loaded value feeds several
 * multiply-adds held in locals: 4 GFLOP/s against 0.8 for the plain i-k-j loop on 1536×576·576×128 here.
 */
function rowDots(a: Mat, b: Mat): Mat {
  const k = a.cols;
  const m = a.rows;
  const n = b.rows;
  const c = new Float64Array(m * n);
  const ad = a.data;
  const bd = b.data;
  const m2 = m - (m % 2);
  const n4 = n - (n % 4);
  for (let i = 0; i < m2; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    for (let j = 0; j < n4; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      for (let p = 0; p < k; p++) {
        const x = ad[a0 + p];
        const y = ad[a1 + p];
        const u0 = bd[b0 + p];
        const u1 = bd[b1 + p];
        const u2 = bd[b2 + p];
        const u3 = bd[b3 + p];
        s00 += x * u0;
        s01 += x * u1;
        s02 += x * u2;
        s03 += x * u3;
        s10 += y * u0;
        s11 += y * u1;
        s12 += y * u2;
        s13 += y * u3;
      }
      const c0 = i * n + j;
      const c1 = c0 + n;
      c[c0] = s00;
      c[c0 + 1] = s01;
      c[c0 + 2] = s02;
      c[c0 + 3] = s03;
      c[c1] = s10;
      c[c1 + 1] = s11;
      c[c1 + 2] = s12;
      c[c1 + 3] = s13;
    }
    for (let j = n4; j < n; j++) {
      c[i * n + j] = dot(ad, a0, bd, j * k, k);
      c[(i + 1) * n + j] = dot(ad, a1, bd, j * k, k);
    }
  }
  for (let i = m2; i < m; i++) for (let j = 0; j < n; j++) c[i * n + j] = dot(ad, i * k, bd, j * k, k);
  return { rows: m, cols: n, data: c };
}

function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, k: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += x[xo + p] * y[yo + p];
  return s;
}

/**
 * aᵀ·a (n×n) for a tall thin a (m×n, n small: a factor's rank), by accumulating each row's outer product into the
 * upper triangle: one pass over a's rows, no transpose, half the multiply-adds of matmulTN(a, a).
 */
export function gramOfColumns(a: Mat): Mat {
  const { rows: m, cols: n } = a;
  const g = zeros(n, n);
  const gd = g.data;
  const ad = a.data;
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let x = 0; x < n; x++) {
      const v = ad[row + x];
      if (v === 0) continue;
      const gx = x * n;
      for (let y = x; y < n; y++) gd[gx + y] += v * ad[row + y];
    }
  }
  for (let x = 0; x < n; x++) for (let y = 0; y < x; y++) gd[x * n + y] = gd[y * n + x];
  return g;
}

/** a·aᵀ (m×m) for a wide a (m small): the dot products of its rows, the upper triangle computed once. */
export function gramOfRows(a: Mat): Mat {
  const { rows: m, cols: k } = a;
  const g = zeros(m, m);
  for (let x = 0; x < m; x++) {
    for (let y = x; y < m; y++) {
      const s = dot(a.data, x * k, a.data, y * k, k);
      g.data[x * m + y] = s;
      g.data[y * m + x] = s;
    }
  }
  return g;
}

export function frobenius(a: Mat): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return Math.sqrt(s);
}

/** Columns [from, to) of a. */
export function sliceCols(a: Mat, from: number, to: number): Mat {
  const w = to - from;
  const out = zeros(a.rows, w);
  for (let i = 0; i < a.rows; i++) out.data.set(a.data.subarray(i * a.cols + from, i * a.cols + to), i * w);
  return out;
}

/** Rows [from, to) of a (a copy). */
export function sliceRows(a: Mat, from: number, to: number): Mat {
  return { rows: to - from, cols: a.cols, data: a.data.slice(from * a.cols, to * a.cols) };
}

/** Rows [from, to) of a as a view of a's values (no copy): for reading only, while a is not written. */
export function rowBlock(a: Mat, from: number, to: number): Mat {
  return { rows: to - from, cols: a.cols, data: a.data.subarray(from * a.cols, to * a.cols) };
}

/** Below this many multiply-adds (m·n·min(m, n)) copying into the QR kernel's memory costs more than it saves. */
const WASM_QR_MIN_MACS = 4096;

/**
 * Thin Householder QR: a (m×n) = q (m×k) · r (k×n), k = min(m, n), q with orthonormal columns. In WebAssembly
 * SIMD once loaded (qr-kernels.wat: eight columns side by side, the same operations in the same order, ~4× the
 * JavaScript's speed at 128×100), bitwise householderQr.
 */
export function qr(a: Mat): { q: Mat; r: Mat } {
  const kernels = qrKernels();
  const big = a.rows * a.cols * Math.min(a.rows, a.cols) >= WASM_QR_MIN_MACS;
  return (kernels && big && kernels.qr(a)) || householderQr(a);
}

/**
 * qr in JavaScript. On a's columns held as rows, with the reflectors in one buffer (offsets, no per-column arrays);
 * Q is formed by applying them backwards to the first k columns of the identity, each reflector only to the columns
 * it can change (c ≥ j).
 */
export function householderQr(a: Mat): { q: Mat; r: Mat } {
  const { rows: m, cols: n } = a;
  const k = Math.min(m, n);
  const w = transpose(a).data; // n × m: row c is column c of a
  const vs = new Float64Array(k * m); // row j: reflector j (zero where H_j is the identity)
  for (let j = 0; j < k; j++) {
    const cj = j * m;
    let norm = 0;
    for (let i = j; i < m; i++) norm += w[cj + i] * w[cj + i];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = w[cj + j] > 0 ? -norm : norm;
    const vj = j * m;
    for (let i = j; i < m; i++) vs[vj + i] = w[cj + i];
    vs[vj + j] -= alpha;
    let vn = 0;
    for (let i = j; i < m; i++) vn += vs[vj + i] * vs[vj + i];
    vn = Math.sqrt(vn);
    if (vn === 0) continue;
    for (let i = j; i < m; i++) vs[vj + i] /= vn;
    // H = I − 2vvᵀ on the remaining columns j..n-1.
    for (let c = j; c < n; c++) {
      const x = c * m;
      let d = 0;
      for (let i = j; i < m; i++) d += vs[vj + i] * w[x + i];
      d *= 2;
      for (let i = j; i < m; i++) w[x + i] -= d * vs[vj + i];
    }
  }
  const r = zeros(k, n);
  for (let i = 0; i < k; i++) for (let c = i; c < n; c++) r.data[i * n + c] = w[c * m + i];
  const qt = new Float64Array(k * m); // Qᵀ, k × m
  for (let c = 0; c < k; c++) qt[c * m + c] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const vj = j * m;
    for (let c = j; c < k; c++) {
      const x = c * m;
      let d = 0;
      for (let i = j; i < m; i++) d += vs[vj + i] * qt[x + i];
      if (d === 0) continue;
      d *= 2;
      for (let i = j; i < m; i++) qt[x + i] -= d * vs[vj + i];
    }
  }
  return { q: transpose({ rows: k, cols: m, data: qt }), r };
}

export interface Svd {
  /** m × k, orthonormal columns. */
  u: Mat;
  /** k singular values, descending. */
  s: Float64Array;
  /** n × k, orthonormal columns: a ≈ u·diag(s)·vᵀ. */
  v: Mat;
}

/**
 * Thin SVD by one-sided Jacobi (Hestenes): accurate to float64 round-off, O(sweeps·n²·m), on the R of a QR
 * first when a is tall. For the small matrices the factor-space code meets (cores of r×r, Gram-sized blocks,
 * sketches of a few dozen columns); large full matrices go through randomizedSvd (svd.ts).
 */
export function svd(a: Mat): Svd {
  if (a.rows < a.cols) {
    const t = svd(transpose(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  if (a.rows > 2 * a.cols) {
    // Tall: a = q·r, and the rotations run on the n×n r instead of m-long columns (R-SVD).
    const { q, r } = qr(a);
    const t = svd(r);
    return { u: matmul(q, t.u), s: t.s, v: t.v };
  }
  const m = a.rows;
  const n = a.cols;
  // Rows of w are the columns of a; rotate pairs of them until they are mutually orthogonal.
  const w = transpose(a).data;
  const v = identity(n).data; // rows of v (transposed V) rotate with w
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      const wp = w.subarray(p * m, (p + 1) * m);
      for (let q = p + 1; q < n; q++) {
        const wq = w.subarray(q * m, (q + 1) * m);
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          alpha += wp[i] * wp[i];
          beta += wq[i] * wq[i];
          gamma += wp[i] * wq[i];
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = wp[i];
          const y = wq[i];
          wp[i] = c * x - s * y;
          wq[i] = s * x + c * y;
        }
        const vp = v.subarray(p * n, (p + 1) * n);
        const vq = v.subarray(q * n, (q + 1) * n);
        for (let i = 0; i < n; i++) {
          const x = vp[i];
          const y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += w[j * m + i] * w[j * m + i];
    return Math.sqrt(s);
  });
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x]);
  const u = zeros(m, n);
  const vv = zeros(n, n);
  const s = new Float64Array(n);
  order.forEach((src, dst) => {
    s[dst] = norms[src];
    for (let i = 0; i < m; i++) u.data[i * n + dst] = norms[src] > 0 ? w[src * m + i] / norms[src] : 0;
    for (let i = 0; i < n; i++) vv.data[i * n + dst] = v[src * n + i];
  });
  // Columns of zero singular value get an arbitrary orthonormal completion so u stays orthonormal.
  completeOrthonormal(u, order.filter((src) => norms[src] === 0).length);
  return { u, s, v: vv };
}

/** Replaces the last `count` (zero) columns of u with unit vectors orthogonal to the others. */
function completeOrthonormal(u: Mat, count: number): void {
  if (count === 0) return;
  const { rows: m, cols: n } = u;
  let e = 0;
  for (let j = n - count; j < n; j++) {
    for (; e < m; e++) {
      const x = new Float64Array(m);
      x[e] = 1;
      for (let c = 0; c < j; c++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += u.data[i * n + c] * x[i];
        for (let i = 0; i < m; i++) x[i] -= d * u.data[i * n + c];
      }
      const norm = Math.hypot(...x);
      if (norm > 1e-8) {
        for (let i = 0; i < m; i++) u.data[i * n + j] = x[i] / norm;
        e++;
        break;
      }
    }
  }
}

/**
 * SVD of the product b·a (b: m×r, a: r×n) without forming it: b = Qb·Rb and aᵀ = Qa·Ra, so
 * b·a = Qb·(Rb·Raᵀ)·Qaᵀ and only the small core Rb·Raᵀ is decomposed. Cost O((m+n)·r²) instead of O(m·n·r).
 */
export function svdOfProduct(b: Mat, a: Mat): Svd {
  if (b.cols !== a.rows) throw new Error(`svdOfProduct: ${b.rows}×${b.cols} · ${a.rows}×${a.cols}`);
  const qb = qr(b);
  const qa = qr(transpose(a));
  const core = svd(matmulNT(qb.r, qa.r));
  return { u: matmul(qb.q, core.u), s: core.s, v: matmul(qa.q, core.v) };
}
