/**
 * Reversible merge over a shared basis, with the basis size spent per module by spectrum: per module
 * ΔWᵢ ≈ U·Σᵢ·Vᵀ (U out×k, V in×k shared, Σᵢ k×k per task: basis uₐ·v_bᵀ, coefficients Σᵢ), fitted as joint.ts
 * does, with k chosen per module so that the whole merge stores about p tasks' worth of floats,
 * Σₘ kₘ(outₘ+inₘ) + n·kₘ² ≤ (p/n)·(floats of keeping all n), while capturing the most (task-balanced) energy:
 * modules whose tasks share directions, or whose deltas are concentrated, get a small k; heavier-tailed ones a
 * larger k (as WeLore spends rank). The k of each module comes from its closed-form energy curve by a Lagrangian
 * search over one price per float, then the chosen size is refined by alternating steps (joint.ts, fitBudgeted).
 *
 * At p = n every module keeps its whole core space (k = rank of its stacked factors), so every task is rebuilt
 * exactly.
 *
 * Parts per module: u (out×k), v (in×k) and either cores (n×k², row i is Σᵢ row-major) or, where k > 2r and so
 * smaller, coreB and coreA (n×k·r, row i is Pᵢ and Qᵢ, k×r row-major, with Σᵢ = Pᵢ·Qᵢᵀ; lossless since Σᵢ has
 * rank rᵢ at most).
 */
import { balancedSplit, numericalRank } from './balanced-split.ts';
import { gemm } from './gemm-runner.ts';
import { matmulNT, svd, transpose, zeros, type Mat } from './linalg.ts';
import { budgetSizes, type CoreFit, type CoreState, coreSpace, fitBudgeted, fitCore, taskWeights } from './core-space.ts';
import {
  float64Parts,
  memberCount,
  memberRank,
  reusingStacks,
  slotOf,
  stackBlocks,
  type AlignedModule,
  type MergedModule,
} from './reversible-types.ts';
import { inWindow, MODULES_IN_FLIGHT, onThread, POOL_MIN_N, threadsHere } from './float64-pool.ts';
import { executionProviderInUse } from '../engine/providers.ts';
import { type Counted, sharedParts, uncounted } from './shared-module-kernels.ts';
import { SharedFloats } from './shared-floats.ts';
import { type StoredSlot, withThreadSlot } from './thread-slot.ts';

export async function buildSharedModules(aligned: AlignedModule[], p: number, fullFloats: number, iters = 2): Promise<MergedModule[]> {
  return reusingStacks(() => sharedModules(aligned, p, fullFloats, iters));
}

async function sharedModules(aligned: AlignedModule[], p: number, fullFloats: number, iters: number): Promise<MergedModule[]> {
  const n = aligned[0] ? memberCount(aligned[0]) : 0;
  const weights = await taskWeights(aligned, n);
  if (modulesOnThreads(aligned)) return sharedOnThreads(aligned, weights, p, fullFloats, iters);
  // Each module expanded as soon as it is fitted, in the fits' window (core-space.ts's fitBudgeted says why).
  const merged = async (fitted: CoreFit): Promise<MergedModule> => ({ ...slotOf(fitted.cs.slot), parts: await sharedParts(fitted) });
  if (p < n) return fitBudgeted(aligned, weights, (p / n) * fullFloats, iters, true, merged);
  return inWindow(aligned, MODULES_IN_FLIGHT, async (slot) => {
    const cs = await coreSpace(slot);
    return merged({ cs, fit: await fitCore(cs, weights, cs.maxK, iters) });
  });
}

let onThreads = true;

/** Modules built on the float64 threads so far (tests check the path was taken). */
export const sharedThreadCounters = { modules: 0 };

/** Tests: whether modules may go to the float64 threads whole (sharedOnThreads); returns the previous setting. */
export function setSharedOnThreads(allowed: boolean): boolean {
  const was = onThreads;
  onThreads = allowed;
  return was;
}

/**
 * Whole modules go to the float64 threads where the products run on the CPU anyway (a GPU host keeps them on the
 * engine's provider, here) and every module's stacked rank is one the threads take (smaller ones, the fixtures,
 * are solved in place as before).
 */
function modulesOnThreads(aligned: AlignedModule[]): boolean {
  const stackedRank = (slot: AlignedModule) => stackBlocks(slot).at(-1)?.[1] ?? 0;
  return onThreads && threadsHere() && executionProviderInUse() === 'cpu' && aligned.every((slot) => stackedRank(slot) >= POOL_MIN_N);
}

/**
 * The same merge with each module's work on a float64 thread (shared-module-kernels.ts): its core space and energy
 * curve, then the sizes from every curve here, then its fit and parts. A module's members cross in a shared buffer
 * lent for the call, and its state (N×N maps and factors, the closed-form bases) comes back and goes out again
 * moved, not copied.
 */
async function sharedOnThreads(
  aligned: AlignedModule[],
  weights: number[],
  p: number,
  fullFloats: number,
  iters: number,
): Promise<MergedModule[]> {
  const n = weights.length;
  sharedThreadCounters.modules += aligned.length;
  const shared = new SharedFloats();
  const sent = <R>(slot: AlignedModule, call: (slot: AlignedModule | StoredSlot) => Promise<R>): Promise<R> =>
    withThreadSlot(slot, shared, call);
  const module = (slot: AlignedModule, parts: Record<string, Mat>): MergedModule => ({ ...slotOf(slot), parts });
  if (p >= n)
    return largestFirst(aligned, async (slot) =>
      module(slot, uncounted(await sent(slot, (x) => onThread<Counted<Record<string, Mat>>>('sharedExact', { slot: x, weights, iters })))),
    );
  type Curve = CoreState & { curve: Float64Array; u: Mat; v: Mat };
  const curves = await largestFirst(aligned, async (slot) =>
    uncounted(await sent(slot, (x) => onThread<Counted<Curve>>('sharedCurve', { slot: x, weights }))),
  );
  const ranks = aligned.map((slot) => Math.max(0, ...Array.from({ length: n }, (_, i) => memberRank(slot, i))));
  const ks = budgetSizes(
    aligned,
    curves.map((c) => Array.from(c.curve)),
    ranks,
    n,
    (p / n) * fullFloats,
    true,
  );
  return largestFirst(aligned, async (slot, m) => {
    const { mapB, mapA, l, r, u, v } = curves[m];
    const state = { mapB, mapA, l, r };
    const moved = [mapB, mapA, l, r, u, v].map((x) => x.data.buffer as ArrayBuffer);
    const args = { weights, state, closed: { u, v }, k: ks[m], iters };
    return module(
      slot,
      uncounted(await sent(slot, (x) => onThread<Counted<Record<string, Mat>>>('sharedFit', { slot: x, ...args }, moved))),
    );
  });
}

/**
 * inWindow over the modules, the largest (out + in) first, results in the modules' order: both stages end in a
 * wait for every module, and a large module handed out last kept one thread busy while the other waited (an
 * 8B-shape layer's threads were idle a third of the time).
 */
async function largestFirst<R>(aligned: AlignedModule[], fn: (slot: AlignedModule, index: number) => Promise<R>): Promise<R[]> {
  const order = aligned.map((_, m) => m).sort((a, b) => aligned[b].out + aligned[b].in - (aligned[a].out + aligned[a].in) || a - b);
  const out = new Array<R>(aligned.length);
  await inWindow(order, MODULES_IN_FLIGHT, async (m) => {
    out[m] = await fn(aligned[m], m);
  });
  return out;
}

/**
 * Task `task`'s factors. Factored cores give B = U·Pᵢ, A = (V·Qᵢ)ᵀ at the task's own (padded) rank; full cores
 * give B = U·Σᵢ, A = Vᵀ (rank k), or with `compact` (used at p = n, where Σᵢ has only the task's own rank) a
 * re-split through the SVD of Σᵢ to its numerical rank.
 */
export async function rebuildShared(module: MergedModule, task: number, compact: boolean): Promise<{ b: Mat; a: Mat }> {
  const { u, v, cores, coreB, coreA } = float64Parts(module);
  const k = u.cols;
  if (coreB) {
    const r = coreB.cols / k;
    const slice = (m: Mat) => ({ rows: k, cols: r, data: m.data.subarray(task * k * r, (task + 1) * k * r) }) as Mat;
    // A = (V·Qᵢ)ᵀ = Qᵢᵀ·Vᵀ, formed transposed directly.
    return { b: await gemm(u, slice(coreB)), a: await gemm(transpose(slice(coreA)), v, 'nt') };
  }
  const core = { rows: k, cols: k, data: cores.data.subarray(task * k * k, (task + 1) * k * k) } as Mat;
  return compact ? compactCore(u, v, core) : { b: await gemm(u, core), a: transpose(v) };
}

/** The mean task delta U·mean(Σᵢ)·Vᵀ. */
export function meanShared(module: MergedModule): Promise<{ b: Mat; a: Mat }> {
  const { u, v, cores, coreB, coreA } = float64Parts(module);
  const k = u.cols;
  const mean = zeros(k, k);
  if (coreB) {
    const n = coreB.rows;
    const r = coreB.cols / k;
    for (let i = 0; i < n; i++) {
      const slice = (m: Mat) => ({ rows: k, cols: r, data: m.data.subarray(i * k * r, (i + 1) * k * r) }) as Mat;
      const c = matmulNT(slice(coreB), slice(coreA));
      for (let j = 0; j < k * k; j++) mean.data[j] += c.data[j] / n;
    }
  } else {
    for (let i = 0; i < cores.rows; i++) for (let j = 0; j < k * k; j++) mean.data[j] += cores.data[i * k * k + j] / cores.rows;
  }
  return compactCore(u, v, mean);
}

/** U·core·Vᵀ as B = U·P·√S, A = √S·Qᵀ·Vᵀ from core = P·S·Qᵀ, at the core's numerical rank. */
async function compactCore(u: Mat, v: Mat, core: Mat): Promise<{ b: Mat; a: Mat }> {
  const coreSvd = svd(core);
  const { b: ps, a: qsT } = balancedSplit(coreSvd, numericalRank(coreSvd.s));
  return { b: await gemm(u, ps), a: await gemm(qsT, v, 'nt') };
}
