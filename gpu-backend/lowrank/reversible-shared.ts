/**
 * Reversible merge over a shared basis, with the basis size spent per module by spectrum: per module
 * ΔWᵢ ≈ U·Σᵢ·Vᵀ (U out×k, V in×k shared, Σᵢ k×k per task: basis uₐ·v_bᵀ, coefficients Σᵢ), fitted as joint.ts
 * does, with k chosen per module so that the whole merge stores about p tasks' worth of floats,
 * Σₘ kₘ(outₘ+inₘ) + n·kₘ² ≤ (p/n)·(floats of keeping all n), while capturing the most (task-balanced) energy:
 * modules whose tasks share directions, or whose deltas are concentrated, get a small k; heavier-tailed ones a
 * larger k (as WeLore spends rank). The k of each module comes from its closed-form energy curve by a Lagrangian
 * search over one price per float, then the chosen size is refined by alternating steps.
 *
 * At p = n every module keeps its whole core space (k = rank of its stacked factors), so every task is rebuilt
 * exactly.
 *
 * Parts per module: u (out×k), v (in×k), cores (n×k², row i is Σᵢ row-major).
 */
import { matmul, matmulNT, matmulTN, svd, transpose, zeros, type Mat } from './linalg.ts';
import { coreSpace, expand, fitCore, taskWeights, weightedGram, type CoreSpace } from './joint.ts';
import { symEigen } from './reversible-eigen.ts';
import { slotOf, type AlignedModule, type MergedModule } from './reversible-types.ts';

export function buildSharedModules(aligned: AlignedModule[], p: number, fullFloats: number, iters = 2): MergedModule[] {
  const n = aligned[0]?.factors.length ?? 0;
  const weights = taskWeights(aligned, n);
  const spaces = aligned.map((slot) => coreSpace(slot));
  let ks: number[];
  let closed: ({ u: Mat; v: Mat } | undefined)[] = [];
  if (p === n) {
    ks = spaces.map((cs) => cs.maxK);
  } else {
    const curves = spaces.map((cs) => energyCurve(cs, weights));
    const costs = aligned.map((slot, m) => curves[m].curve.map((_, k) => k * (slot.out + slot.in) + n * k * k));
    ks = allocate(
      curves.map((c) => c.curve),
      costs,
      (p / n) * fullFloats,
    );
    closed = curves.map((c) => c.closed);
  }
  return aligned.map((slot, m) => {
    const fit = fitCore(spaces[m], weights, ks[m], iters, closed[m]);
    return { ...slotOf(slot), parts: expand(spaces[m], fit) };
  });
}

/**
 * Task `task`'s factors B = U·Σᵢ, A = Vᵀ (rank k). With `compact` (used at p = n, where Σᵢ has only the task's
 * own rank) they are re-split through the SVD of Σᵢ to its numerical rank instead.
 */
export function rebuildShared(module: MergedModule, task: number, compact: boolean): { b: Mat; a: Mat } {
  const { u, v, cores } = module.parts;
  const k = u.cols;
  const core = { rows: k, cols: k, data: cores.data.subarray(task * k * k, (task + 1) * k * k) } as Mat;
  return compact ? compactCore(u, v, core) : { b: matmul(u, core), a: transpose(v) };
}

/** The mean task delta U·mean(Σᵢ)·Vᵀ. */
export function meanShared(module: MergedModule): { b: Mat; a: Mat } {
  const { u, v, cores } = module.parts;
  const k = u.cols;
  const mean = zeros(k, k);
  for (let i = 0; i < cores.rows; i++) for (let j = 0; j < k * k; j++) mean.data[j] += cores.data[i * k * k + j] / cores.rows;
  return compactCore(u, v, mean);
}

/** U·core·Vᵀ as B = U·P·√S, A = √S·Qᵀ·Vᵀ from core = P·S·Qᵀ, dropping singular values below 1e-9 of the largest. */
function compactCore(u: Mat, v: Mat, core: Mat): { b: Mat; a: Mat } {
  const { u: p, s, v: q } = svd(core);
  let keep = 0;
  while (keep < s.length && s[keep] > 1e-9 * s[0]) keep++;
  keep = Math.max(keep, 1);
  const k = core.rows;
  const ps = zeros(k, keep);
  const qs = zeros(k, keep);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < keep; j++) {
      const root = Math.sqrt(s[j]);
      ps.data[i * keep + j] = p.data[i * p.cols + j] * root;
      qs.data[i * keep + j] = q.data[i * q.cols + j] * root;
    }
  }
  return { b: matmul(u, ps), a: matmulTN(qs, transpose(v)) };
}

/**
 * curve[k] = Σᵢ wᵢ‖U'ₖᵀKᵢV'ₖ‖² for the closed-form bases cut to k (curve[0] = 0): the weighted energy a
 * module keeps at basis size k, computed once from the full eigenbases.
 */
function energyCurve(cs: CoreSpace, weights: number[]): { curve: number[]; closed: { u: Mat; v: Mat } } {
  const uAll = symEigen(weightedGram(cs.k, weights, 'left', null)).vectors;
  const vAll = symEigen(weightedGram(cs.k, weights, 'right', null)).vectors;
  const kMax = cs.maxK;
  const curve = new Array<number>(kMax + 1).fill(0);
  cs.k.forEach((ki, i) => {
    if (!ki) return;
    const c = matmulNT(matmulTN(uAll, ki.l), matmulTN(vAll, ki.r)); // Nb × Na
    for (let k = 1; k <= kMax; k++) {
      let add = 0;
      const last = k - 1;
      for (let b = 0; b < k; b++) add += c.data[last * c.cols + b] ** 2;
      for (let a = 0; a < last; a++) add += c.data[a * c.cols + last] ** 2;
      curve[k] += weights[i] * add;
    }
  });
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
