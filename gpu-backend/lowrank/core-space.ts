import { gemm, gemmF32, gemmLent, onRuntime } from './gemm-runner.ts';
import { matmul, matmulTN, matmulTNTransient, rowBlock, transpose, zeros, type Mat } from './linalg.ts';
import { coreGrams, coreGramTimes, pairProductsLent, type StackedCore } from './core-grams.ts';
import { spanBasis } from './span-basis.ts';
import { memberSquaredNorms } from './member-norms.ts';
import { releaseStack, stack, stack32, stackBlocks, type AlignedModule } from './reversible-types.ts';
import { float32Of, keepFloat32 } from './float32-twin.ts';
import { handOver, inWindow, MODULES_IN_FLIGHT, orthonormalAsync, symEigAsync } from './float64-pool.ts';

/** 1/‖ΔWᵢ‖² over all modules (1 for an all-zero adapter), from the factors. */
export async function taskWeights(aligned: AlignedModule[], n: number): Promise<number[]> {
  const norms = new Array<number>(n).fill(0);
  // Summed module by module in order, as before the norms were batched per family.
  for (const module of await memberSquaredNorms(aligned)) module.forEach((s, i) => (norms[i] += s));
  return norms.map((s) => (s > 0 ? 1 / s : 1));
}

/**
 * A module's deltas in the core space of their stacked factors: ΔWᵢ = Qb·(lᵢ·rᵢᵀ)·Qaᵀ, with Qb = [B₁…Bₙ]·mapB and
 * Qa = [A₁;…;Aₙ]ᵀ·mapA kept as their small maps (span-basis.ts) and formed only as products with the fit.
 */
export interface CoreSpace {
  slot: AlignedModule;
  mapB: Mat;
  mapA: Mat;
  /**
   * Kᵢ = lᵢ·rᵢᵀ (qb.cols × qa.cols) kept as its two thin factors, transposed: lᵢᵀ and rᵢᵀ, Rb's and Ra's columns of
   * adapter i as rows (views of the stacked transposes); null where the adapter lacks the module.
   */
  k: ({ lT: Mat; rT: Mat } | null)[];
  /**
   * The basis size that keeps every task exactly: the larger of the two spans' ranks. The side of smaller rank
   * gets zero columns beyond its rank (they carry nothing: every delta lies in that span already).
   */
  maxK: number;
  /** The same factors stacked (lᵢ, rᵢ are column blocks of them), for the Grams' stacked products. */
  stacked: StackedCore;
}

/** The spans' bases come from span-basis.ts: their Grams and products on the runtime, only N×N work in JS. */
export async function coreSpace(slot: AlignedModule): Promise<CoreSpace> {
  const { bcat, acat } = stack(slot);
  const qb = await spanBasis(bcat, 'columns');
  const qa = await spanBasis(acat, 'rows');
  // The bases keep only small maps and R factors (N×N), nothing of the stacks.
  releaseStack(bcat.data, float32Of(bcat), acat.data, float32Of(acat));
  return coreSpaceOf(slot, { mapB: qb.map, mapA: qa.map, l: qb.r, r: qa.r });
}

/**
 * What a module's core space is made of beyond its slot, all N×N or smaller: the two maps and the two R factors
 * (the stacked lᵢ and rᵢ). A float64 thread that built it sends this back, and gets it again for the fit.
 */
export interface CoreState {
  mapB: Mat;
  mapA: Mat;
  l: Mat;
  r: Mat;
}

export function coreStateOf(cs: CoreSpace): CoreState {
  return { mapB: cs.mapB, mapA: cs.mapA, l: cs.stacked.l, r: cs.stacked.r };
}

/** The core space of `slot` from its state. */
export function coreSpaceOf(slot: AlignedModule, { mapB, mapA, l, r }: CoreState): CoreSpace {
  const blocks = stackBlocks(slot);
  // Transposed once: the Grams' middles and the cores read each task's columns as contiguous rows.
  const [lT, rT] = [transpose(l), transpose(r)];
  const k = blocks.map(([from, to]) => (to === from ? null : { lT: rowBlock(lT, from, to), rT: rowBlock(rT, from, to) }));
  // The R factors are read by every product of the fit (stacked), so they are converted to float32 once.
  const stacked = { l: keepFloat32(l), r: keepFloat32(r), lT, rT, blocks };
  return { slot, mapB, mapA, k, maxK: Math.max(mapB.cols, mapA.cols), stacked };
}

/**
 * U' (Nb×k) and V' (Na×k) in the core space: the closed form (top-k eigenvectors of the weighted Grams), then
 * `iters` alternating steps. Each step is one subspace-iteration step warm-started from the previous basis,
 * V ← orth(Gᵣ(U)·V) and U ← orth(Gₗ(V)·U), applied through the thin factors of Kᵢ (3·N²·k, no N×N matrix and no
 * eigenproblem): only the span of U' and V' matters to the fit (Σᵢ = U'ᵀKᵢV' follows it), and from the
 * closed-form start one step gets most of what the exact alternating eigen-step did (six N×N eigenproblems
 * per module were most of a merge's time). `closed` (the full closed-form eigenbases, when the caller already
 * has them) saves the two eigenproblems of the start.
 */
export async function fitCore(
  cs: CoreSpace,
  weights: number[],
  k: number,
  iters: number,
  closed?: { u: Mat; v: Mat },
): Promise<{ u: Mat; v: Mat }> {
  const start = closed ?? (await closedForm(cs, weights));
  let u = leadingColumns(start.u, k);
  let v = leadingColumns(start.v, k);
  // A side whose span has rank ≤ k keeps all of it already (zero columns past the rank), so it has no step.
  const refineU = k < cs.mapB.cols;
  const refineV = k < cs.mapA.cols;
  for (let it = 0; it < iters && (refineU || refineV); it++) {
    if (refineV) v = await orthonormalAsync(handOver(await coreGramTimes(cs.stacked, weights, 'right', u, v)));
    if (refineU) u = await orthonormalAsync(handOver(await coreGramTimes(cs.stacked, weights, 'left', v, u)));
  }
  return { u, v };
}

/** U = qb·U', V = qa·V', Σᵢ = (U'ᵀlᵢ)(rᵢᵀV'). */
export async function expand(cs: CoreSpace, fit: { u: Mat; v: Mat }): Promise<{ u: Mat; v: Mat; cores: Mat }> {
  const k = fit.u.cols;
  const cores = zeros(cs.k.length, k * k);
  cs.k.forEach((ki, i) => {
    if (!ki) return;
    // Σᵢ = (U'ᵀlᵢ)(rᵢᵀV') from (lᵢᵀU')ᵀ(rᵢᵀV'): the same sums, in the same order.
    const c = matmulTN(matmul(ki.lT, fit.u), matmul(ki.rT, fit.v));
    cores.data.set(c.data, i * k * k);
  });
  return { ...(await bases(cs, fit)), cores };
}

/**
 * The same basis with each core kept as its two thin factors: Σᵢ = Pᵢ·Qᵢᵀ, Pᵢ = U'ᵀlᵢ and Qᵢ = V'ᵀrᵢ (k×rᵢ, zero-padded
 * to the module's largest rank r). Σᵢ has rank rᵢ at most, so this is lossless, stores 2k·r instead of k² per task
 * where k > 2r, and the task's adapter U·Pᵢ, (V·Qᵢ)ᵀ keeps its own rank instead of k.
 */
export async function expandFactored(cs: CoreSpace, fit: { u: Mat; v: Mat }): Promise<{ u: Mat; v: Mat; coreB: Mat; coreA: Mat }> {
  const k = fit.u.cols;
  const r = maxRank(cs);
  const coreB = zeros(cs.k.length, k * r);
  const coreA = zeros(cs.k.length, k * r);
  cs.k.forEach((ki, i) => {
    if (!ki) return;
    const ri = ki.lT.rows;
    // Pᵢᵀ and Qᵢᵀ (rᵢ × k).
    const pb = matmul(ki.lT, fit.u);
    const qa = matmul(ki.rT, fit.v);
    for (let a = 0; a < k; a++) {
      for (let j = 0; j < ri; j++) {
        coreB.data[i * k * r + a * r + j] = pb.data[j * k + a];
        coreA.data[i * k * r + a * r + j] = qa.data[j * k + a];
      }
    }
  });
  return { ...(await bases(cs, fit)), coreB, coreA };
}

/**
 * U = Qb·U' and V = Qa·V' on the runtime, from the stacked factors (formed again: a module's are cheap to stack).
 * Unlike basisTimes they keep no float32 copy: they are a merge's output, held by every module until the merge is
 * stored, and a copy was a third more of what a merge holds; a revert stacks them in float32 per family anyway.
 */
async function bases(cs: CoreSpace, fit: { u: Mat; v: Mat }): Promise<{ u: Mat; v: Mat }> {
  const k = fit.u.cols;
  const n = cs.mapB.rows;
  // map·U' and map·V' are read once, by the products below, so they are lent.
  const [mb, ma] = [await gemmLent(cs.mapB, fit.u), await gemmLent(cs.mapA, fit.v)];
  let out: { u: Mat; v: Mat };
  if (onRuntime(cs.slot.out, n, k) && onRuntime(cs.slot.in, n, k)) {
    // Both products read only the stacks' float32 values (gemmF32 feeds them as they are).
    const { bcat, acat } = stack32(cs.slot);
    out = { u: await gemmF32(bcat, mb.c), v: await gemmF32(acat, ma.c, 'tn') };
    releaseStack(bcat.data, acat.data);
  } else {
    const { bcat, acat } = stack(cs.slot);
    out = { u: await gemm(bcat, mb.c), v: await gemm(acat, ma.c, 'tn') };
    releaseStack(bcat.data, float32Of(bcat), acat.data, float32Of(acat));
  }
  mb.done();
  ma.done();
  return out;
}

/** Floats of n cores at basis size k: k² each, or 2k·r each when kept factored (and smaller). */
export function coreFloats(n: number, k: number, r: number, factored: boolean): number {
  return n * (factored ? Math.min(k * k, 2 * k * r) : k * k);
}

/** The first k columns of a; zero columns past a's own (a basis asked for more than its span's rank). */
function leadingColumns(a: Mat, k: number): Mat {
  const out = zeros(a.rows, k);
  const w = Math.min(k, a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < w; j++) out.data[i * k + j] = a.data[i * a.cols + j];
  return out;
}

// ---- a storage budget spent by spectrum ----------------------------------------------------------------------

/** A module's fit in its core space, as fitBudgeted gives it to `finish`. */
export type CoreFit = { cs: CoreSpace; fit: { u: Mat; v: Mat } };

/**
 * Per-module fits whose sizes kₘ spend `budget` floats (Σ kₘ(outₘ+inₘ) + n·kₘ²) where they keep the most
 * task-balanced energy: modules whose tasks share directions, or whose deltas are concentrated, get a small k,
 * heavier-tailed ones a larger k (as WeLore spends rank). Each module's closed-form energy curve, one price per
 * float found by bisection, then `iters` alternating steps at the chosen size, each module's fit handed to
 * `finish` (its expansion) in the same window: expanded after all fits, the expansions ran alone on this thread
 * while the float64 threads waited (a fifth of a 135M merge).
 */
export async function fitBudgeted<R = CoreFit>(
  aligned: AlignedModule[],
  weights: number[],
  budget: number,
  iters: number,
  factored = false,
  finish: (fitted: CoreFit) => Promise<R> = async (fitted) => fitted as R,
): Promise<R[]> {
  const n = weights.length;
  // A few modules at a time, so that one module's float64 kernels (on the pool's threads) overlap another's
  // runtime products on this one.
  const spaced = await inWindow(aligned, MODULES_IN_FLIGHT, async (slot) => {
    const cs = await coreSpace(slot);
    return { cs, curve: await energyCurve(cs, weights) };
  });
  const spaces = spaced.map((x) => x.cs);
  const curves = spaced.map((x) => x.curve);
  const ks = budgetSizes(
    aligned,
    curves.map((c) => c.curve),
    spaces.map(maxRank),
    n,
    budget,
    factored,
  );
  return inWindow(spaces, MODULES_IN_FLIGHT, async (cs, m) =>
    finish({ cs, fit: await fitCore(cs, weights, ks[m], iters, curves[m].closed) }),
  );
}

/**
 * Each module's basis size kₘ: its closed-form energy curve spent against its floats per k (the basis and n
 * cores, factored where `factored` and smaller; r is the module's largest member rank) under one budget.
 */
export function budgetSizes(
  aligned: AlignedModule[],
  curves: number[][],
  ranks: number[],
  n: number,
  budget: number,
  factored: boolean,
): number[] {
  const costs = aligned.map((slot, m) => curves[m].map((_, k) => k * (slot.out + slot.in) + coreFloats(n, k, ranks[m], factored)));
  return allocate(curves, costs, budget);
}

export function maxRank(cs: CoreSpace): number {
  return Math.max(...cs.k.map((ki) => (ki ? ki.lT.rows : 0)));
}

/** The full eigenbases of the two weighted core Grams (the closed form's U', V' before they are cut to k). */
async function closedForm(cs: CoreSpace, weights: number[]): Promise<{ u: Mat; v: Mat }> {
  const [gl, gr] = await coreGrams(cs.stacked, weights);
  const [left, right] = await Promise.all([symEigAsync(handOver(gl)), symEigAsync(handOver(gr))]);
  return { u: left.vectors, v: right.vectors };
}

/**
 * curve[k] = Σᵢ wᵢ‖U'ₖᵀKᵢV'ₖ‖² for the closed-form bases cut to k (curve[0] = 0): the weighted energy a
 * module keeps at basis size k, computed once from the full eigenbases.
 */
export async function energyCurve(cs: CoreSpace, weights: number[]): Promise<{ curve: number[]; closed: { u: Mat; v: Mat } }> {
  const { u: uAll, v: vAll } = await closedForm(cs, weights);
  const kMax = cs.maxK;
  const curve = new Array<number>(kMax + 1).fill(0);
  // Row block i of lt is lᵢᵀ·U, of rt rᵢᵀ·V: two stacked products instead of two per task, one run where Nb = Na.
  // Read here and dropped, so lent.
  const {
    cs: [lt, rt],
    done,
  } = await pairProductsLent([cs.stacked.l, uAll], [cs.stacked.r, vAll], 'tn');
  cs.stacked.blocks.forEach(([from, to], i) => {
    if (to === from) return;
    // Nb × Na, read here and dropped.
    const c = matmulTNTransient(rowBlock(lt, from, to), rowBlock(rt, from, to));
    for (let k = 1; k <= kMax; k++) {
      let add = 0;
      const last = k - 1;
      // Past one span's rank its side adds zero columns, so those entries are zero.
      if (last < c.rows) for (let b = 0; b < Math.min(k, c.cols); b++) add += c.data[last * c.cols + b] ** 2;
      if (last < c.cols) for (let a = 0; a < Math.min(last, c.rows); a++) add += c.data[a * c.cols + last] ** 2;
      curve[k] += weights[i] * add;
    }
  });
  done();
  for (let k = 1; k <= kMax; k++) curve[k] += curve[k - 1];
  return { curve, closed: { u: uAll, v: vAll } };
}

/**
 * Per module the k ≥ 1 maximising energy − λ·floats, with λ the smallest price (found by bisection) at which the
 * total fits the budget. Picks from each curve's upper convex hull, which is what a greedy split converges to.
 */
function allocate(curves: number[][], costs: number[][], budget: number): number[] {
  const pick = (lambda: number) =>
    curves.map((curve, m) => {
      let best = 1;
      for (let k = 2; k < curve.length; k++) if (curve[k] - lambda * costs[m][k] > curve[best] - lambda * costs[m][best]) best = k;
      return best;
    });
  const total = (ks: number[]) => ks.reduce((s, k, m) => s + costs[m][k], 0);
  let lo = 0;
  let hi = 1;
  while (total(pick(hi)) > budget && hi < 1e30) hi *= 4;
  if (total(pick(lo)) <= budget) return pick(lo);
  for (let it = 0; it < 100; it++) {
    const mid = (lo + hi) / 2;
    if (total(pick(mid)) > budget) lo = mid;
    else hi = mid;
  }
  return pick(hi);
}
