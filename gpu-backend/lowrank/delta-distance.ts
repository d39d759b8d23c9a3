/**
 * The one ΔW distance of lowrank/: how far one low-rank delta B₁A₁ is from another B₂A₂, from the factors and
 * without forming either m×n delta. ‖B₁A₁ − B₂A₂‖² is ‖G·H‖² with G = [B₁ −B₂] and H = [A₁; A₂], and
 * ‖G·H‖² = Σ (GᵀG)∘(HHᵀ): the stacked form, which keeps its accuracy where the two deltas nearly agree (an
 * exact rebuild), unlike ‖x‖² + ‖y‖² − 2⟨x, y⟩.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { gramOfColumns, gramOfRows, matmulNT, matmulTN, type Mat } from './linalg.ts';
import { deltaFactors } from './peft-adapter.ts';

export interface LowRankDelta {
  b: Mat;
  a: Mat;
}

/** ‖b·a‖²_F = Σ (bᵀb) ∘ (a·aᵀ). */
export function squaredNorm({ b, a }: LowRankDelta): number {
  const g = gramOfColumns(b);
  const h = gramOfRows(a);
  let s = 0;
  for (let i = 0; i < g.data.length; i++) s += g.data[i] * h.data[i];
  return Math.max(s, 0);
}

/** ‖orig − rec‖² (err) and ‖orig‖² (norm), orig and rec given as factors. */
export function deltaDistance(orig: LowRankDelta, rec: LowRankDelta): { err: number; norm: number } {
  const r1 = orig.b.cols;
  const r2 = rec.b.cols;
  const r = r1 + r2;
  const out = orig.b.rows;
  const cols = orig.a.cols;
  const g = new Float64Array(out * r);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < r1; k++) g[o * r + k] = orig.b.data[o * r1 + k];
    for (let k = 0; k < r2; k++) g[o * r + r1 + k] = -rec.b.data[o * r2 + k];
  }
  const h = new Float64Array(r * cols);
  h.set(orig.a.data);
  h.set(rec.a.data, r1 * cols);
  return { err: squaredNorm({ b: { rows: out, cols: r, data: g }, a: { rows: r, cols, data: h } }), norm: squaredNorm(orig) };
}

/** ‖ΔW_merged − ΔW_member‖ / ‖ΔW_member‖ with norms summed over every module of either adapter. */
export function relativeError(merged: LoraAdapter, member: LoraAdapter): number {
  return relativeErrors(merged, [member])[0];
}

/** Σ (x.bᵀ·y.b) ∘ (x.a·y.aᵀ) = ⟨x.b·x.a, y.b·y.a⟩. */
function inner(x: LowRankDelta, y: LowRankDelta): number {
  const g = matmulTN(x.b, y.b);
  const h = matmulNT(x.a, y.a);
  let s = 0;
  for (let i = 0; i < g.data.length; i++) s += g.data[i] * h.data[i];
  return s;
}

/**
 * relativeError of one merged adapter against each member. The stacked form's sum Σ (GᵀG)∘(HHᵀ) taken by blocks,
 * ‖M‖² − 2⟨M, Wᵢ⟩ + ‖Wᵢ‖², so each module's merged block (R×R for a merge of rank R, the costly one) is formed
 * once rather than once per member; these are the same terms, so a collapsed merge far from every member loses
 * nothing, and one that gives a member back reads ~1e-8, not 0.
 */
export function relativeErrors(merged: LoraAdapter, members: LoraAdapter[]): number[] {
  const theirs = new Map(merged.modules.map((m) => [m.path, deltaFactors(m)]));
  const mergedNorms = new Map<string, number>();
  const mergedNorm = (path: string) => {
    let n = mergedNorms.get(path);
    if (n === undefined) {
      n = squaredNorm(theirs.get(path)!);
      mergedNorms.set(path, n);
    }
    return n;
  };
  return members.map((member) => {
    const mine = new Map(member.modules.map((m) => [m.path, deltaFactors(m)]));
    let diff = 0;
    let norm = 0;
    for (const path of new Set([...mine.keys(), ...theirs.keys()])) {
      const x = theirs.get(path);
      const y = mine.get(path);
      const own = y ? squaredNorm(y) : 0;
      norm += own;
      diff += x && y ? Math.max(mergedNorm(path) - 2 * inner(x, y) + own, 0) : x ? mergedNorm(path) : own;
    }
    return Math.sqrt(diff / (norm || 1));
  });
}
