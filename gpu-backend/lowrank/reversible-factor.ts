/**
 * Reversible merge in factor space, as published (arXiv 2510.14163): per module, per factor and per position
 * (each row of lora_B, each column of lora_A) the n tasks' r-vectors form X (r×n); the merge keeps their mean μ,
 * the top-p left singular vectors V of X − μ and C = Vᵀ(X − μ), and task i reverts to μ + V·C[:, i].
 * Storage per position is r + p·r + p·n floats against r·n. Ranks that differ are zero-padded to the largest,
 * modules a task lacks count as zeros.
 *
 * 'factor_svd' first rewrites each adapter as B = U·√S, A = √S·Vᵀ from the SVD of its own B·A, so the result
 * does not depend on how training happened to split ΔW between B and A.
 *
 * Parts per module: muB (out×r), basisB (out×p·r: row j is Vᵀ of row j, p×r row-major), coefB (out×n·p: row j
 * is Cᵀ, n×p row-major, so one task's coefficients are adjacent), and muA, basisA, coefA with one row per input
 * column.
 */
import type { F32Mat } from './gemm-runner.ts';
import { svdOfProduct, zeros, type Mat } from './linalg.ts';
import type { DeltaFactors } from './peft-adapter.ts';
import { eigenInPlace, eigenWork } from './symmetric-eigen.ts';
import { eigenKernels, type EigenKernels } from './eigen-kernels.ts';
import { inWindow, MODULES_IN_FLIGHT, onThread } from './float64-pool.ts';
import { type FactorParts, markFiniteMeans, sharedParts } from './factor-parts.ts';
import { SharedFloats } from './shared-floats.ts';
import { type StoredSlot, withThreadSlot } from './thread-slot.ts';
import { memberCount, memberFactors, slotOf, type AlignedModule, type MergedModule, type PartMat } from './reversible-types.ts';

/**
 * Modules of more than FACTOR_POOL_MIN positions are fitted on the float64 threads (float64-pool.ts), a few at
 * a time: the positions' small eigenproblems are all float64 work, so the threads are what makes it faster. A
 * thread gets the members' modules as stored (float32, copied once into a shared buffer lent for the module):
 * widening them to float64 here and cloning those was most of this thread's share of a merge.
 */
export async function buildFactorModules(aligned: AlignedModule[], p: number, svdForm: boolean): Promise<MergedModule[]> {
  const shared = new SharedFloats();
  // One test of the threshold: the shared parts are laid out for exactly the slots sent to the threads.
  const onThreads = new Set(aligned.filter((slot) => slot.out + slot.in >= FACTOR_POOL_MIN));
  const into = svdForm ? new Map<AlignedModule, FactorParts>() : sharedParts([...onThreads], p);
  return inWindow(aligned, MODULES_IN_FLIGHT, async (slot) => {
    if (!onThreads.has(slot)) return factorModule(slot, p, svdForm);
    return withThreadSlot(slot, shared, async (sent) => {
      const parts = into.get(slot);
      if (!parts) return { ...slotOf(slot), parts: await onThread<FactorParts>('factorModule', { slot: sent, p, svdForm }) };
      const { finite } = await onThread<{ finite: boolean }>('factorModuleInto', { slot: sent, p, svdForm, into: parts });
      const module = { ...slotOf(slot), parts };
      if (finite) markFiniteMeans(module);
      return module;
    });
  });
}

/** Positions (rows of B and columns of A) from which a module is fitted on a thread. */
export const FACTOR_POOL_MIN = 256;

/**
 * `kernels`: eigen-kernels.ts's fit and eigensolver, or null for the JavaScript ones (the tests run both). The
 * positions are read where the factors lie (B's rows, A's columns; the stored float32 with B's scale applied as
 * deltaFactors applies it), so nothing is widened or transposed first.
 */
export function factorModule(
  slot: AlignedModule | StoredSlot,
  p: number,
  svdForm: boolean,
  kernels: EigenKernels | null = eigenKernels(),
  into?: FactorParts,
): MergedModule {
  const aligned = slot as AlignedModule;
  const n = memberCount(aligned);
  const sides = Array.from({ length: n }, (_, i) => memberSides(aligned, i, svdForm));
  const r = Math.max(...sides.map((f) => (f ? f.rank : 0)));
  const bSide = fitPositions(
    sides.map((f) => f?.b ?? null),
    slot.out,
    r,
    p,
    kernels,
    into && { mu: into.muB, basis: into.basisB, coef: into.coefB },
  );
  const aSide = fitPositions(
    sides.map((f) => f?.a ?? null),
    slot.in,
    r,
    p,
    kernels,
    into && { mu: into.muA, basis: into.basisA, coef: into.coefA },
  );
  const module = {
    ...slotOf(slot),
    parts: { muB: bSide.mu, basisB: bSide.basis, coefB: bSide.coef, muA: aSide.mu, basisA: aSide.basis, coefA: aSide.coef },
  };
  if (bSide.finite && aSide.finite) markFiniteMeans(module);
  return module;
}

/**
 * One task's factor read by position: its r-vector at position pos is data[pos·posStride + k·kStride]·scale for
 * k < rank (B: its rows; A: its columns).
 */
interface PositionSource {
  data: Float32Array | Float64Array;
  rank: number;
  posStride: number;
  kStride: number;
  scale: number;
}

/** Member i's two sides: the stored float32 where the slot has them (the 'factor' form), else the float64 factors. */
function memberSides(slot: AlignedModule, i: number, svdForm: boolean): { rank: number; b: PositionSource; a: PositionSource } | null {
  const stored = slot.stored?.[i];
  if (stored && !svdForm) {
    const { rank, b, a, scale } = stored;
    return {
      rank,
      b: { data: b, rank, posStride: rank, kStride: 1, scale },
      a: { data: a, rank, posStride: 1, kStride: slot.in, scale: 1 },
    };
  }
  const f = widened(slot, i, svdForm);
  if (!f) return null;
  const rank = f.a.rows;
  return {
    rank,
    b: { data: f.b.data, rank, posStride: rank, kStride: 1, scale: 1 },
    a: { data: f.a.data, rank, posStride: 1, kStride: f.a.cols, scale: 1 },
  };
}

function widened(slot: AlignedModule, i: number, svdForm: boolean): DeltaFactors | null {
  const f = memberFactors(slot, i);
  return f && svdForm ? balancedSvdFactors(f) : f;
}

/** Task `task`'s factors rebuilt from a factor-space module: rank r (the padded rank). */
export function rebuildFactor(module: MergedModule, task: number, n: number): { b: Mat; a: Mat } {
  const f = rebuildFactor32(module, task, n);
  return {
    b: { rows: module.out, cols: f.rank, data: Float64Array.from(f.b) },
    a: { rows: f.rank, cols: module.in, data: Float64Array.from(f.a) },
  };
}

/**
 * The same, written straight into the float32 arrays an adapter holds (B out×r, A r×in): on the 135M shape a
 * revert writes ~5M floats, and a float64 detour costs more than the arithmetic.
 */
export function rebuildFactor32(module: MergedModule, task: number, n: number): { b: Float32Array; a: Float32Array; rank: number } {
  const { muB, basisB, coefB, muA, basisA, coefA } = module.parts;
  const r = muB.cols;
  const b = new Float32Array(module.out * r);
  const a = new Float32Array(r * module.in);
  rebuildSide(muB, basisB, coefB, task, n, b, r, 1);
  rebuildSide(muA, basisA, coefA, task, n, a, 1, module.in);
  return { b, a, rank: r };
}

/** ΔW = B·A = (U√S)(√S Vᵀ): the same product, split evenly between the factors. */
export function balancedSvdFactors(f: DeltaFactors): DeltaFactors {
  const { u, s, v } = svdOfProduct(f.b, f.a);
  const k = s.length;
  const b = zeros(u.rows, k);
  const a = zeros(k, v.rows);
  for (let j = 0; j < k; j++) {
    const root = Math.sqrt(s[j]);
    for (let i = 0; i < u.rows; i++) b.data[i * k + j] = u.data[i * k + j] * root;
    for (let i = 0; i < v.rows; i++) a.data[j * v.rows + i] = v.data[i * k + j] * root;
  }
  return { ...f, b, a };
}

/** Positions per call of the WebAssembly fit (its X is ~256 KB for 8 tasks of rank 16; the parts of a whole factor stay in its memory). */
const FIT_BATCH = 256;

/**
 * One factor's positions: `sources[i]` reads task i's r_i-vectors (null: all zeros).
 * Allocation-free inside the loop: it runs once per row of B and column of A, ~300k times on the 135M shape.
 * With n ≤ r and p < n (the usual case: fewer tasks than rank) and the kernels loaded, the positions go to
 * eigen-kernels.wat's fitPositions a batch at a time, which does this function's arithmetic in the same order
 * (bitwise the same parts) without its per-position overhead.
 */
function fitPositions(
  sources: (PositionSource | null)[],
  positions: number,
  r: number,
  p: number,
  kernels: EigenKernels | null = eigenKernels(),
  into?: { mu: F32Mat; basis: F32Mat; coef: F32Mat },
): { mu: F32Mat; basis: F32Mat; coef: F32Mat; finite: boolean } {
  const n = sources.length;
  if (
    into &&
    (into.mu.data.length !== positions * r || into.basis.data.length !== positions * r * p || into.coef.data.length !== positions * p * n)
  )
    throw new Error(`fitPositions: parts laid out for another shape than ${positions} positions, r ${r}, p ${p}, n ${n}`);
  if (kernels && n > 1 && n <= r && p < n) {
    const padded = sources.some((src) => !src || src.rank < r);
    // The members as stored (float32) are gathered by the kernels from a copy in their memory; widened factors here.
    const float32 = sources.every((src) => !src || src.data instanceof Float32Array);
    const floats = float32 ? sources.reduce((sum, src) => sum + (src ? src.data.length : 0), 0) : 0;
    const x = kernels.fitLayout(n, r, p, positions, FIT_BATCH, floats);
    const at = sources.map((src) => (src && float32 ? kernels.fitSource(src.data as Float32Array) : -1));
    for (let from = 0; from < positions; from += FIT_BATCH) {
      const count = Math.min(FIT_BATCH, positions - from);
      if (padded) x.fill(0);
      sources.forEach((src, i) => {
        if (!src) return;
        if (float32) kernels.gather(at[i], src.rank, src.posStride, src.kStride, src.scale, i, from, count);
        else gather(src, from, count, x, i * r, n * r);
      });
      kernels.fitPositions(from, count);
    }
    const parts = kernels.fitResults(into && { mu: into.mu.data, basis: into.basis.data, coef: into.coef.data });
    return {
      mu: { rows: positions, cols: r, data: parts.mu },
      basis: { rows: positions, cols: r * p, data: parts.basis },
      coef: { rows: positions, cols: p * n, data: parts.coef },
      finite: parts.finite,
    };
  }
  // In float64, each part rounded to float32 once at the end, as the kernels' parts are: V is summed where it lies.
  const mu = zeros(positions, r);
  const basis = zeros(positions, r * p);
  const coef = zeros(positions, p * n);
  const md = mu.data;
  const bd = basis.data;
  const cd = coef.data;
  // X − μ task-major (row i = task i's r-vector), so copies and the n×n Gram walk contiguous rows.
  const x = new Float64Array(n * r);
  const m = new Float64Array(r);
  // The smaller Gram: n×n (tasks) when n ≤ r, else r×r.
  const small = Math.min(n, r);
  const g = new Float64Array(small * small);
  const w = eigenWork(small);
  let nonFinite = 0;
  // The deflation's reflection (n ≤ r): s = 1/√n, bs = s/(1 + s).
  const m1 = n - 1;
  const sn = 1 / Math.sqrt(n);
  const bs = (1 / (1 + sn)) * sn;
  for (let pos = 0; pos < positions; pos++) {
    x.fill(0);
    m.fill(0);
    for (let i = 0; i < n; i++) {
      const src = sources[i];
      if (!src) continue;
      gather(src, pos, 1, x, i * r, 0);
      for (let k = 0; k < src.rank; k++) m[k] += x[i * r + k];
    }
    for (let k = 0; k < r; k++) {
      m[k] /= n;
      md[pos * r + k] = m[k];
    }
    // The squared norm of X − μ summed as the kernels' lanes sum it: even and odd k apart (one chain of additions
    // through every square was a tenth of their fit), an odd r's last k apart, then last + (even + odd).
    let even = 0;
    let odd = 0;
    let last = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < r; k++) {
        const c = x[i * r + k] - m[k];
        x[i * r + k] = c;
        if (k + 1 === r && r % 2 === 1) last += c * c;
        else if (k % 2 === 0) even += c * c;
        else odd += c * c;
      }
    }
    const trace = last + (even + odd);
    // As the kernels' $nonFinite: the trace is finite exactly where every value gathered was.
    nonFinite += trace * 0;
    if (trace === 0) continue;
    const vOff = pos * r * p;
    const cOff = pos * p * n;
    if (p === n) {
      // A basis as large as the tasks: V = X − μ and C = I rebuild each task exactly, with no eigenproblem.
      bd.set(x, vOff);
      for (let i = 0; i < n; i++) cd[cOff + i * n + i] = 1;
    } else if (n <= r) {
      // Deflated first, as eigen-kernels.wat's $centre: the rows of X − μ sum to zero, so the Householder reflection
      // H that maps 1/√n to −e_{n−1} leaves rows 0..n−2 of H(X − μ) (Y', in place) spanning the same, and their
      // (n−1)×(n−1) Gram g = Y'Y'ᵀ has the same nonzero eigenvalues. Its eigenvector e' gives V[:, j] = Y'ᵀe'/√λ
      // and C[j, :] = √λ·(H[e'; 0])ᵀ: eᵢ = e'ᵢ − bs·t for i < n − 1, e_{n−1} = −t, t = s·Σe'.
      for (let k = 0; k < r; k++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += x[i * r + k];
        const y = bs * (sn * sum + x[m1 * r + k]);
        for (let i = 0; i < m1; i++) x[i * r + k] -= y;
      }
      for (let a = 0; a < m1; a++) {
        for (let b = a; b < m1; b++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += x[a * r + k] * x[b * r + k];
          g[a * m1 + b] = s;
          g[b * m1 + a] = s;
        }
      }
      eigenInPlace(m1, g, w, kernels);
      for (let j = 0; j < p; j++) {
        const lambda = w.d[j];
        if (!(lambda > 1e-24 * trace)) break;
        const root = Math.sqrt(lambda);
        const vj = vOff + j * r;
        let sum = 0;
        for (let i = 0; i < m1; i++) sum += g[i * m1 + j];
        const t = sn * sum;
        for (let i = 0; i < m1; i++) {
          const e = g[i * m1 + j];
          cd[cOff + i * p + j] = root * (e - bs * t);
          const c = e / root;
          for (let k = 0; k < r; k++) bd[vj + k] += x[i * r + k] * c;
        }
        cd[cOff + m1 * p + j] = root * -t;
      }
    } else {
      // g = XXᵀ; its eigenvectors are V directly and C = VᵀX.
      g.fill(0);
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < r; a++) {
          const xa = x[i * r + a];
          for (let b = a; b < r; b++) g[a * r + b] += xa * x[i * r + b];
        }
      }
      for (let a = 0; a < r; a++) for (let b = 0; b < a; b++) g[a * r + b] = g[b * r + a];
      eigenInPlace(r, g, w, kernels);
      for (let j = 0; j < Math.min(p, r); j++) {
        for (let k = 0; k < r; k++) bd[vOff + j * r + k] = g[k * r + j];
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += g[k * r + j] * x[i * r + k];
          cd[cOff + i * p + j] = s;
        }
      }
    }
  }
  const rounded = (part: Mat, target?: F32Mat): F32Mat => {
    if (!target) return { rows: part.rows, cols: part.cols, data: new Float32Array(part.data) };
    target.data.set(part.data);
    return target;
  };
  return { mu: rounded(mu, into?.mu), basis: rounded(basis, into?.basis), coef: rounded(coef, into?.coef), finite: nonFinite === 0 };
}

/**
 * Positions from..from+count of `src` into `x`, position pos's vector at at + pos·stride: B's rows are read
 * along the row, A's columns a row of A at a time (contiguous reads). The scale is applied as deltaFactors does
 * (the float32 value times the scale, in float64), so the values are bitwise the widened factors'.
 */
function gather(src: PositionSource, from: number, count: number, x: Float64Array, at: number, stride: number): void {
  const { data, rank, posStride, kStride, scale } = src;
  if (kStride === 1) {
    for (let pos = 0; pos < count; pos++) {
      const o = at + pos * stride;
      const off = (from + pos) * posStride;
      for (let k = 0; k < rank; k++) x[o + k] = data[off + k] * scale;
    }
    return;
  }
  for (let k = 0; k < rank; k++) {
    const off = from * posStride + k * kStride;
    for (let pos = 0; pos < count; pos++) x[at + pos * stride + k] = data[off + pos * posStride] * scale;
  }
}

/** Writes μ + V·C[:, task] of every position into `out` at pos·posStride + k·kStride. */
function rebuildSide(
  mu: PartMat,
  basis: PartMat,
  coef: PartMat,
  task: number,
  n: number,
  out: Float32Array,
  posStride: number,
  kStride: number,
): void {
  const positions = mu.rows;
  const r = mu.cols;
  const p = basis.cols / r;
  const md = mu.data;
  const bd = basis.data;
  const cd = coef.data;
  const acc = new Float64Array(r);
  for (let pos = 0; pos < positions; pos++) {
    for (let k = 0; k < r; k++) acc[k] = md[pos * r + k];
    const cOff = pos * p * n + task * p;
    for (let j = 0, vOff = pos * r * p; j < p; j++, vOff += r) {
      const c = cd[cOff + j];
      if (c === 0) continue;
      for (let k = 0; k < r; k++) acc[k] += bd[vOff + k] * c;
    }
    const o = pos * posStride;
    for (let k = 0; k < r; k++) out[o + k * kStride] = acc[k];
  }
}
