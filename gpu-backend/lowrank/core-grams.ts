/**
 * The weighted Grams of a module's core-space deltas Kᵢ = lᵢ·rᵢᵀ (core-space.ts), as a few products of the
 * stacked thin factors [l₁…lₙ] and [r₁…rₙ] rather than n small ones per task: the left Gram Σ wᵢ·Kᵢ·P·Kᵢᵀ and the
 * right one Σ wᵢ·Kᵢᵀ·P·Kᵢ (P = I or a projector proj·projᵀ), formed or applied to a thin matrix. Each term is
 * lᵢ·(rᵢᵀ·P·rᵢ)·lᵢᵀ: an rᵢ×rᵢ middle between two stacked products. The stacked products are N×N·N×k and
 * larger, so they go through gemm (the runtime at a 128-rank stack, where JS took a quarter of a merge).
 */
import { gemm } from './gemm-runner.ts';
import { matmul, matmulNT, sliceRows, transpose, zeros, type Mat } from './linalg.ts';

/** The stacked thin factors: lᵢ = columns blocks[i] of `l` (Nb×N), rᵢ = the same columns of `r` (Na×N). */
export interface StackedCore {
  l: Mat;
  r: Mat;
  /** Each task's column range; empty for a task lacking the module. */
  blocks: [number, number][];
}

type Side = 'left' | 'right';

/** The weighted Gram on `side` with P = I: Nb×Nb (left) or Na×Na (right). */
export function coreGram(core: StackedCore, weights: number[], side: Side): Promise<Mat> {
  const [outer, inner] = side === 'left' ? [core.l, core.r] : [core.r, core.l];
  // Middles from the blocks of innerᵀ (contiguous rows), then Z = blockdiag(wᵢ·middleᵢ)·outerᵀ and G = outer·Z.
  return gemm(outer, middlesTimes(core.blocks, weights, transpose(inner), transpose(outer)));
}

/** The weighted Gram on `side` with P = proj·projᵀ, times x (a thin matrix of the outer side's size). */
export async function coreGramTimes(core: StackedCore, weights: number[], side: Side, proj: Mat, x: Mat): Promise<Mat> {
  const [outer, inner] = side === 'left' ? [core.l, core.r] : [core.r, core.l];
  const t = await gemm(inner, proj, 'tn'); // N × k: row block i is rᵢᵀ·proj
  const y = await gemm(outer, x, 'tn'); // N × k: row block i is lᵢᵀ·x
  return gemm(outer, middlesTimes(core.blocks, weights, t, y));
}

/** Rows of y, block by block, times wᵢ·(tᵢ·tᵢᵀ) where tᵢ is the same block of t's rows. */
function middlesTimes(blocks: [number, number][], weights: number[], t: Mat, y: Mat): Mat {
  const z = zeros(y.rows, y.cols);
  blocks.forEach(([from, to], i) => {
    if (to === from) return;
    const ti = sliceRows(t, from, to);
    const part = matmul(matmulNT(ti, ti), sliceRows(y, from, to));
    const w = weights[i];
    const at = from * y.cols;
    for (let e = 0; e < part.data.length; e++) z.data[at + e] = w * part.data[e];
  });
  return z;
}
