/**
 * The weighted Grams of a module's core-space deltas Kᵢ = lᵢ·rᵢᵀ (core-space.ts), as a few products of the
 * stacked thin factors [l₁…lₙ] and [r₁…rₙ] rather than n small ones per task: the left Gram Σ wᵢ·Kᵢ·P·Kᵢᵀ and the
 * right one Σ wᵢ·Kᵢᵀ·P·Kᵢ (P = I or a projector proj·projᵀ), formed or applied to a thin matrix. Each term is
 * lᵢ·(rᵢᵀ·P·rᵢ)·lᵢᵀ: an rᵢ×rᵢ middle between two stacked products. The stacked products are N×N·N×k and
 * larger, so they go through gemm (the runtime at a 128-rank stack, where JS took a quarter of a merge).
 */
import { gemm, gemmBatch, gemmBatchLent, type GemmForm, gemmLent, onRuntime } from './gemm-runner.ts';
import { type Mat, matmulTransient, rowBlock, zeros } from './linalg.ts';
import { borrow64, giveBack } from './scratch-buffers.ts';

/** The stacked thin factors: lᵢ = columns blocks[i] of `l` (Nb×N), rᵢ = the same columns of `r` (Na×N). */
export interface StackedCore {
  l: Mat;
  r: Mat;
  /** lᵀ and rᵀ (N×Nb, N×Na): row block i is lᵢᵀ (rᵢᵀ), read in place by the Grams' middles and the cores. */
  lT: Mat;
  rT: Mat;
  /** Each task's column range; empty for a task lacking the module. */
  blocks: [number, number][];
}

type Side = 'left' | 'right';

/**
 * Both weighted Grams with P = I, left (Nb×Nb) and right (Na×Na). Middles from the blocks of innerᵀ (contiguous
 * rows), then Z = blockdiag(wᵢ·middleᵢ)·outerᵀ and G = outer·Z, the two sides' products in one run where they have
 * one shape.
 */
export async function coreGrams(core: StackedCore, weights: number[]): Promise<[Mat, Mat]> {
  const { l, r, lT, rT, blocks } = core;
  const zl = middlesTimes(blocks, weights, rT, lT, { rows: lT.rows, cols: lT.cols, data: borrow64(lT.rows * lT.cols) });
  const zr = middlesTimes(blocks, weights, lT, rT, { rows: rT.rows, cols: rT.cols, data: borrow64(rT.rows * rT.cols) });
  const [gl, gr] = await pairProducts([l, zl], [r, zr], 'nn');
  giveBack(zl.data, zr.data);
  return [gl, gr];
}

/** The weighted Gram on `side` with P = proj·projᵀ, times x (a thin matrix of the outer side's size). */
export async function coreGramTimes(core: StackedCore, weights: number[], side: Side, proj: Mat, x: Mat): Promise<Mat> {
  const [outer, inner] = side === 'left' ? [core.l, core.r] : [core.r, core.l];
  // Read only by the middles, so they are lent and taken back after the product; one run where Nb = Na.
  // t: N × k, row block i is rᵢᵀ·proj; y: N × k, row block i is lᵢᵀ·x.
  const {
    cs: [t, y],
    done,
  } = await pairProductsLent([inner, proj], [outer, x], 'tn');
  const out = await outerTimes(outer, core.blocks, weights, t, y);
  done();
  return out;
}

/** gemm of two pairs: one batched run where their shapes agree (gemmBatch), else one each. */
export async function pairProducts(x: [Mat, Mat], y: [Mat, Mat], form: GemmForm): Promise<[Mat, Mat]> {
  if (sameShapes(x, y)) {
    const [cx, cy] = await gemmBatch([x, y], form);
    return [cx, cy];
  }
  return [await gemm(...x, form), await gemm(...y, form)];
}

/**
 * outer·Z, Z = middlesTimes(t, y), with Z in a lent buffer where the product runs on the runtime (read once there):
 * a fresh Z per product was a large part of a merge's short-lived memory.
 */
async function outerTimes(outer: Mat, blocks: [number, number][], weights: number[], t: Mat, y: Mat): Promise<Mat> {
  if (!onRuntime(outer.rows, outer.cols, y.cols)) return gemm(outer, middlesTimes(blocks, weights, t, y, zeros(y.rows, y.cols)));
  const z = { rows: y.rows, cols: y.cols, data: borrow64(y.rows * y.cols) };
  const out = await gemm(outer, middlesTimes(blocks, weights, t, y, z));
  giveBack(z.data);
  return out;
}

/**
 * Rows of y, block by block, times wᵢ·(tᵢ·tᵢᵀ) where tᵢ is the same block of t's rows, written into z (rows of no
 * block are zeroed). The blocks are read in place and each block's product is read from the kernel's memory.
 */
function middlesTimes(blocks: [number, number][], weights: number[], t: Mat, y: Mat, z: Mat): Mat {
  let covered = 0;
  const largest = Math.max(0, ...blocks.map(([from, to]) => to - from));
  const middle = new Float64Array(largest * largest);
  blocks.forEach(([from, to], i) => {
    if (to === from) return;
    z.data.fill(0, covered * y.cols, from * y.cols);
    covered = to;
    const part = matmulTransient(rowGram(t, from, to, middle), rowBlock(y, from, to));
    const w = weights[i];
    const at = from * y.cols;
    for (let e = 0; e < part.data.length; e++) z.data[at + e] = w * part.data[e];
  });
  z.data.fill(0, covered * y.cols);
  return z;
}

/**
 * tᵢ·tᵢᵀ for rows [from, to) of t, into `into` (no array per block): each entry one dot product of two rows summed
 * in order, as matmulNT sums it, and the lower triangle copied from the upper (x·y = y·x exactly).
 */
function rowGram(t: Mat, from: number, to: number, into: Float64Array): Mat {
  const r = to - from;
  const c = t.cols;
  const d = t.data;
  for (let a = 0; a < r; a++) {
    const x = (from + a) * c;
    for (let b = a; b < r; b++) {
      const y = (from + b) * c;
      let s = 0;
      for (let p = 0; p < c; p++) s += d[x + p] * d[y + p];
      into[a * r + b] = s;
      into[b * r + a] = s;
    }
  }
  return { rows: r, cols: r, data: into.subarray(0, r * r) };
}

/** pairProducts for results read once and dropped (gemmLent): lent buffers that `done` takes back. */
export async function pairProductsLent(x: [Mat, Mat], y: [Mat, Mat], form: GemmForm): Promise<{ cs: Mat[]; done: () => void }> {
  if (sameShapes(x, y)) return gemmBatchLent([x, y], form);
  const each = [await gemmLent(...x, form), await gemmLent(...y, form)];
  return { cs: each.map((e) => e.c), done: () => each.forEach((e) => e.done()) };
}

function sameShapes(x: [Mat, Mat], y: [Mat, Mat]): boolean {
  return x[0].rows === y[0].rows && x[0].cols === y[0].cols && x[1].rows === y[1].rows && x[1].cols === y[1].cols;
}
