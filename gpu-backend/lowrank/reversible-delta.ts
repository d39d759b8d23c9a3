/**
 * Reversible merge in delta space: per module, the n×n Gram matrix of the task deltas ⟨ΔWᵢ, ΔWⱼ⟩ =
 * tr((BᵢᵀBⱼ)(AⱼAᵢᵀ)), computed from the factors; its top-p eigenvectors E give p orthonormal basis deltas
 * Dₖ = Σⱼ Eⱼₖ·ΔWⱼ/√λₖ and task i's coefficients cᵢₖ = √λₖ·Eᵢₖ (the best p-term approximation of the n deltas
 * in the Frobenius sense). It does not depend on how an adapter splits ΔW into B·A.
 *
 * The basis deltas are stored in low-rank form: Dₖ = Qb·(Rb·diag(Eₖ)·Raᵀ)·Qaᵀ/√λₖ through the bases of the stacked
 * factors (span-basis.ts) [B₁…Bₙ] and [A₁…Aₙ]ᵀ, the small core's SVD truncated to `basisRank` (default: the module's largest
 * adapter rank; at p = n the whole rank, so that p = n rebuilds exactly) and split √S to each side.
 *
 * Parts per module: b (out × p·t), a (p·t × in) — Dₖ = b[:, kt:(k+1)t]·a[kt:(k+1)t, :] — and coef (n × p).
 */
import { gemm } from './gemm-runner.ts';
import { matmulNT, svd, zeros, type Mat } from './linalg.ts';
import { basisTimes, spanBasis } from './span-basis.ts';
import { symEig } from './symmetric-eigen.ts';
import { float64Parts, memberCount, slotOf, stack, type AlignedModule, type MergedModule } from './reversible-types.ts';

export async function buildDeltaModules(aligned: AlignedModule[], p: number, basisRank?: number): Promise<MergedModule[]> {
  const modules: MergedModule[] = [];
  for (const slot of aligned) {
    const n = memberCount(slot);
    const { bcat, acat, blocks } = stack(slot);
    const gram = await taskGram(bcat, acat, blocks, n);
    const { values, vectors } = symEig(gram);
    const full = Math.min(bcat.cols, slot.out, slot.in);
    const maxRank = Math.max(...blocks.map(([from, to]) => to - from));
    const t = Math.min(basisRank ?? (p === n ? full : maxRank), full);
    const b = zeros(slot.out, p * t);
    const a = zeros(p * t, slot.in);
    const coef = zeros(n, p);
    const trace = values.reduce((s, v) => s + Math.max(v, 0), 0);
    const qb = await spanBasis(bcat, 'columns');
    const qa = await spanBasis(acat, 'rows');
    for (let k = 0; k < p; k++) {
      const lambda = values[k];
      if (!(lambda > 1e-24 * trace)) break;
      const root = Math.sqrt(lambda);
      for (let i = 0; i < n; i++) coef.data[i * p + k] = root * vectors.data[i * n + k];
      // Core of Dₖ: Rb·diag(weights of each task's columns)·Raᵀ/√λₖ.
      const weighted = zeros(qb.r.rows, qb.r.cols);
      for (let i = 0; i < n; i++) {
        const wgt = vectors.data[i * n + k] / root;
        const [from, to] = blocks[i];
        for (let row = 0; row < qb.r.rows; row++)
          for (let c = from; c < to; c++) weighted.data[row * qb.r.cols + c] = qb.r.data[row * qb.r.cols + c] * wgt;
      }
      const core = svd(matmulNT(weighted, qa.r));
      const left = await basisTimes(bcat, 'columns', qb.map, core.u); // out × rank
      const right = await basisTimes(acat, 'rows', qa.map, core.v); // in × rank
      const keep = Math.min(t, core.s.length);
      for (let j = 0; j < keep; j++) {
        const rs = Math.sqrt(core.s[j]);
        for (let row = 0; row < slot.out; row++) b.data[row * p * t + k * t + j] = left.data[row * left.cols + j] * rs;
        for (let c = 0; c < slot.in; c++) a.data[(k * t + j) * slot.in + c] = right.data[c * right.cols + j] * rs;
      }
    }
    modules.push({ ...slotOf(slot), parts: { b, a, coef } });
  }
  return modules;
}

/** Task `task`'s factors from a delta-space module: [cᵢ₁·b₁ … cᵢₚ·bₚ] and the stacked a (rank p·t). */
export function rebuildDelta(module: MergedModule, task: number): { b: Mat; a: Mat } {
  const { b, a, coef } = float64Parts(module);
  const p = coef.cols;
  const t = b.cols / p;
  const out = zeros(b.rows, b.cols);
  for (let row = 0; row < b.rows; row++) {
    for (let k = 0; k < p; k++) {
      const c = coef.data[task * p + k];
      for (let j = 0; j < t; j++) out.data[row * b.cols + k * t + j] = b.data[row * b.cols + k * t + j] * c;
    }
  }
  return { b: out, a: { rows: a.rows, cols: a.cols, data: a.data.slice() } };
}

/** The mean task delta Σₖ c̄ₖ·Dₖ, with c̄ the mean coefficient row. */
export function meanDelta(module: MergedModule): { b: Mat; a: Mat } {
  const { coef } = float64Parts(module);
  const n = coef.rows;
  const mean = zeros(1, coef.cols);
  for (let i = 0; i < n; i++) for (let k = 0; k < coef.cols; k++) mean.data[k] += coef.data[i * coef.cols + k] / n;
  return rebuildDelta({ ...module, parts: { ...module.parts, coef: mean } }, 0);
}

/** ⟨ΔWᵢ, ΔWⱼ⟩ = Σ (BᵢᵀBⱼ) ∘ (AᵢAⱼᵀ), from the stacked factors' Grams, never forming ΔW. */
export async function taskGram(bcat: Mat, acat: Mat, blocks: [number, number][], n: number): Promise<Mat> {
  const btb = await gemm(bcat, bcat, 'tn');
  const aat = await gemm(acat, acat, 'nt');
  const total = bcat.cols;
  const g = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let a = blocks[i][0]; a < blocks[i][1]; a++)
        for (let b = blocks[j][0]; b < blocks[j][1]; b++) s += btb.data[a * total + b] * aat.data[a * total + b];
      g.data[i * n + j] = s;
      g.data[j * n + i] = s;
    }
  }
  return g;
}
