/**
 * The weighted Grams of a module's core-space deltas Kᵢ = lᵢ·rᵢᵀ (core-space.ts), as a few products of the
 * stacked thin factors [l₁…lₙ] and [r₁…rₙ] rather than n small ones per task: the left Gram Σ wᵢ·Kᵢ·P·Kᵢᵀ and the
 * right one Σ wᵢ·Kᵢᵀ·P·Kᵢ (P = I or a projector proj·projᵀ), formed or applied to a thin matrix. Each term is
 * lᵢ·(rᵢᵀ·P·rᵢ)·lᵢᵀ: an rᵢ×rᵢ middle between two stacked products. The stacked products are N×N·N×k and
 * larger, so they go through gemm (the runtime at a 128-rank stack, where JS took a quarter of a merge).
 */
import { borrow32, giveBack } from './float32-scratch.ts';
import { type F32Mat, gemm, gemmF32, gemmLent, onRuntime } from './gemm-runner.ts';
import { type Mat, zeros } from './linalg.ts';

/** The stacked thin factors: lᵢ = columns blocks[i] of `l` (Nb×N), rᵢ = the same columns of `r` (Na×N). */
export interface StackedCore {
  l: Mat;
  r: Mat;
  /** Each task's column range; empty for a task lacking the module. */
  blocks: [number, number][];
}

type Side = 'left' | 'right';

/**
 * A thin matrix whose row blocks are the tasks' (rows given), or one whose column blocks are (columns: the stacked
 * factor itself, read in place instead of transposed).
 */
interface Blocked {
  m: Mat | F32Mat;
  blocksIn: 'rows' | 'columns';
}

/** The weighted Gram on `side` with P = I: Nb×Nb (left) or Na×Na (right). */
export async function coreGram(core: StackedCore, weights: number[], side: Side): Promise<Mat> {
  const [outer, inner] = side === 'left' ? [core.l, core.r] : [core.r, core.l];
  // Middles from the column blocks of inner, then Z = blockdiag(wᵢ·middleᵢ)·outerᵀ and G = outer·Z.
  return outerTimes(outer, core.blocks, weights, { m: inner, blocksIn: 'columns' }, { m: outer, blocksIn: 'columns' });
}

/** The weighted Gram on `side` with P = proj·projᵀ, times x (a thin matrix of the outer side's size). */
export async function coreGramTimes(core: StackedCore, weights: number[], side: Side, proj: Mat, x: Mat): Promise<Mat> {
  const [outer, inner] = side === 'left' ? [core.l, core.r] : [core.r, core.l];
  // Read only by the middles, so a runtime product's float32 values are read as they came (the same values widened).
  const t = await gemmLent(inner, proj, 'tn'); // N × k: row block i is rᵢᵀ·proj
  const y = await gemmLent(outer, x, 'tn'); // N × k: row block i is lᵢᵀ·x
  const out = await outerTimes(outer, core.blocks, weights, { m: t.c, blocksIn: 'rows' }, { m: y.c, blocksIn: 'rows' });
  t.done();
  y.done();
  return out;
}

/**
 * outer·Z, Z = middlesTimes(t, y). Where the product runs on the runtime Z is written in float32 straight away (a
 * lent buffer): the runtime would round it so anyway, and a fresh float64 Z and its float32 copy per product were
 * a large part of a merge's short-lived memory.
 */
async function outerTimes(outer: Mat, blocks: [number, number][], weights: number[], t: Blocked, y: Blocked): Promise<Mat> {
  const cols = y.blocksIn === 'rows' ? y.m.cols : y.m.rows;
  if (!onRuntime(outer.rows, outer.cols, cols)) return gemm(outer, middlesTimes(blocks, weights, t, y, zeros(outer.cols, cols)));
  const z = { rows: outer.cols, cols, data: borrow32(outer.cols * cols) };
  const out = await gemmF32(outer, middlesTimes(blocks, weights, t, y, z));
  giveBack(z.data);
  return out;
}

/**
 * Rows of y, block by block, times wᵢ·(tᵢ·tᵢᵀ) where tᵢ is the same block of t, written into z (every row of a
 * task's block; rows of a task lacking the module are zero). Each entry is summed in the order matmulNT and matmul
 * sum it (over the inner index, from 0), and scaled by wᵢ last, so z holds the values the products gave.
 */
function middlesTimes<Z extends { rows: number; cols: number; data: Float32Array | Float64Array }>(
  blocks: [number, number][],
  weights: number[],
  t: Blocked,
  y: Blocked,
  z: Z,
): Z {
  const cols = z.cols;
  const zd = z.data;
  const row = new Float64Array(cols);
  blocks.forEach(([from, to], i) => {
    const r = to - from;
    if (r === 0) return;
    const middle = blockGram(t, from, to);
    const w = weights[i];
    const yd = y.m.data;
    const yc = y.m.cols;
    for (let a = 0; a < r; a++) {
      row.fill(0);
      if (y.blocksIn === 'rows') {
        for (let b = 0; b < r; b++) {
          const f = middle[a * r + b];
          const from_ = (from + b) * yc;
          for (let j = 0; j < cols; j++) row[j] += f * yd[from_ + j];
        }
      } else {
        for (let j = 0; j < cols; j++) {
          let s = 0;
          const at = j * yc + from;
          for (let b = 0; b < r; b++) s += middle[a * r + b] * yd[at + b];
          row[j] = s;
        }
      }
      const at = (from + a) * cols;
      for (let j = 0; j < cols; j++) zd[at + j] = w * row[j];
    }
  });
  for (let i = 0, at = 0; i <= blocks.length; i++) {
    // Rows outside every block (none where the blocks tile the stack) stay zero.
    const next = i < blocks.length ? blocks[i][0] : z.rows;
    if (next > at) zd.fill(0, at * cols, next * cols);
    if (i < blocks.length) at = Math.max(at, blocks[i][1]);
  }
  return z;
}

/** tᵢ·tᵢᵀ (r×r) for the block [from, to) of t, each entry summed over t's other index in order. */
function blockGram(t: Blocked, from: number, to: number): Float64Array {
  const r = to - from;
  const g = new Float64Array(r * r);
  const d = t.m.data;
  const c = t.m.cols;
  if (t.blocksIn === 'rows') {
    for (let a = 0; a < r; a++) {
      for (let b = a; b < r; b++) {
        let s = 0;
        const x = (from + a) * c;
        const y = (from + b) * c;
        for (let p = 0; p < c; p++) s += d[x + p] * d[y + p];
        g[a * r + b] = s;
        g[b * r + a] = s;
      }
    }
  } else {
    for (let p = 0; p < t.m.rows; p++) {
      const at = p * c + from;
      for (let a = 0; a < r; a++) {
        const v = d[at + a];
        for (let b = a; b < r; b++) g[a * r + b] += v * d[at + b];
      }
    }
    for (let a = 0; a < r; a++) for (let b = 0; b < a; b++) g[a * r + b] = g[b * r + a];
  }
  return g;
}
