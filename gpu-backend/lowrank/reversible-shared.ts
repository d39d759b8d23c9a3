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
import { type CoreFit, coreSpace, expand, expandFactored, fitBudgeted, fitCore, maxRank, taskWeights } from './core-space.ts';
import { float64Parts, memberCount, reusingStacks, slotOf, type AlignedModule, type MergedModule } from './reversible-types.ts';
import { inWindow, MODULES_IN_FLIGHT } from './float64-pool.ts';

export async function buildSharedModules(aligned: AlignedModule[], p: number, fullFloats: number, iters = 2): Promise<MergedModule[]> {
  return reusingStacks(() => sharedModules(aligned, p, fullFloats, iters));
}

async function sharedModules(aligned: AlignedModule[], p: number, fullFloats: number, iters: number): Promise<MergedModule[]> {
  const n = aligned[0] ? memberCount(aligned[0]) : 0;
  const weights = await taskWeights(aligned, n);
  // Each module expanded as soon as it is fitted, in the fits' window (core-space.ts's fitBudgeted says why).
  const merged = async ({ cs, fit }: CoreFit): Promise<MergedModule> => {
    const k = fit.u.cols;
    // Whichever core form stores less (the allocation counted the same).
    const parts = k * k <= 2 * k * maxRank(cs) ? await expand(cs, fit) : await expandFactored(cs, fit);
    return { ...slotOf(cs.slot), parts };
  };
  if (p < n) return fitBudgeted(aligned, weights, (p / n) * fullFloats, iters, true, merged);
  return inWindow(aligned, MODULES_IN_FLIGHT, async (slot) => {
    const cs = await coreSpace(slot);
    return merged({ cs, fit: await fitCore(cs, weights, cs.maxK, iters) });
  });
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
