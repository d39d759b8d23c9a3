/**
 * TIES' two passes over one block of rows of a module's n stacked deltas, on whichever side runs them best:
 * - on the CPU, the runtime forms the deltas (a MatMul per member) straight into the SIMD kernels' memory and the kernels
 *   do the element-wise work (ties-kernels.ts);
 * - on a GPU host, the whole pass is one graph on the device (ties-graphs.ts), so the deltas never cross the bus.
 * Both give the same block results: `stats` the count above each member's bracket and the magnitudes inside it
 * with their positions in the block; `combine` the merged rows.
 */
import { executionProviderInUse } from '../engine/providers.ts';
import { f32, type ort } from '../engine/runtime.ts';
import { gemmCounters } from './gemm-runner.ts';
import { tiesCombineSession, tiesDeltaSession, tiesStatsSession } from './ties-graphs.ts';
import { type BlockStats, TiesKernels } from './ties-kernels.ts';
import { spare } from './ties-spare.ts';

export type { BlockStats };

/** Values of the n stacked deltas per block: 16 MB (of 1–16 MB, this took the least CPU on 2 cores). */
const BLOCK_VALUES = 1 << 22;

export interface Stacked {
  n: number;
  rows: number;
  cols: number;
  rank: number;
  b: Float32Array; // [n, rows, rank], each member's b zero-padded to the largest rank
  a: Float32Array; // [n, rank, cols]
}

export interface TiesPasses {
  /** Rows per block: a pass runs over rows [row, row + h) with h this or what is left. */
  rowsPerBlock: number;
  /** The block's stats; its lists may be views, valid until the next call. */
  stats(row: number, h: number, lo: Float32Array, hi: Float32Array): Promise<BlockStats>;
  /**
   * The merged rows (valid until the next call). `cut`: per member, the first position in the block whose
   * magnitude equal to the threshold is no longer kept (0: none, h·cols: all); `thresholdUp` is the next float32
   * above each threshold.
   */
  combine(
    row: number,
    h: number,
    threshold: Float32Array,
    thresholdUp: Float32Array,
    cut: Int32Array,
    weight: Float32Array,
  ): Promise<Float32Array>;
  /** Both in one pass, where the side has it (the CPU's kernels). */
  onePass?: OnePass;
  /** Once the module's passes are over: the kernels are kept for the thread's next module (their memory reused). */
  done(): void;
}

/**
 * One pass over a module where the brackets are expected to hold (TiesKernels' startModule, fused, unsure, finish):
 * `block` gives the rows merged from the sure values, or null where the room of `start(cap)` could overflow.
 */
export interface OnePass {
  start(cap: number): void;
  block(row: number, h: number, lo: Float32Array, hi: Float32Array, weight: Float32Array): Promise<Float32Array | null>;
  unsure: TiesKernels['unsure'];
  finish: TiesKernels['finish'];
}

/** The members' b rows [row, row + h), stacked [n, h, rank]. */
function blockB(s: Stacked, row: number, h: number): ort.Tensor {
  const { n, rows, rank } = s;
  const b = new Float32Array(n * h * rank);
  for (let i = 0; i < n; i++) b.set(s.b.subarray((i * rows + row) * rank, (i * rows + row + h) * rank), i * h * rank);
  gemmCounters.runtimeMacs += n * h * rank * s.cols;
  return f32(b, [n, h, rank]);
}

/** Where the element-wise work runs: the CPU's SIMD kernels, or the runtime's graphs (a GPU host's choice). */
export type TiesPassSide = 'kernels' | 'graphs';

export const defaultPassSide = (): TiesPassSide => (executionProviderInUse() === 'cpu' ? 'kernels' : 'graphs');

/** `threads`: the kernels' runtime's threads per MatMul (default: all cores; one on a thread of a pool). */
export async function tiesPasses(s: Stacked, side: TiesPassSide = defaultPassSide(), threads?: number): Promise<TiesPasses> {
  const rowsPerBlock = Math.max(1, Math.floor(BLOCK_VALUES / (s.n * s.cols)));
  return side === 'kernels' ? kernelPasses(s, rowsPerBlock, threads) : graphPasses(s, rowsPerBlock);
}

/** The kernels a module's passes were done with, for the next module (of this thread) to reuse. */
const spareKernels = spare<TiesKernels>((a, b) => a.plane > b.plane);

async function kernelPasses(s: Stacked, rowsPerBlock: number, threads?: number): Promise<TiesPasses> {
  const { n, cols } = s;
  // Every module's blocks fit in BLOCK_VALUES, so one size of kernels serves them all.
  const plane = Math.max(rowsPerBlock * cols, Math.floor(BLOCK_VALUES / n));
  const kernels = spareKernels.take((k) => k.n === n && k.plane >= plane) ?? (await TiesKernels.create(n, plane));
  const session = await tiesDeltaSession(threads);
  const deltas = async (row: number, h: number) => {
    const { rows, rank } = s;
    const out = kernels.deltas(h * cols);
    gemmCounters.runtimeMacs += n * h * rank * cols;
    for (let i = 0; i < n; i++) {
      const b = s.b.subarray((i * rows + row) * rank, (i * rows + row + h) * rank);
      const a = s.a.subarray(i * rank * cols, (i + 1) * rank * cols);
      await session.run(
        { b: f32(b, [h, rank]), a: f32(a, [rank, cols]) },
        { delta: f32(out.subarray(i * h * cols, (i + 1) * h * cols), [h, cols]) },
      );
    }
  };
  return {
    rowsPerBlock,
    async stats(row, h, lo, hi) {
      await deltas(row, h);
      return kernels.stats(h * cols, row * cols, lo, hi);
    },
    async combine(row, h, threshold, thresholdUp, cut, weight) {
      await deltas(row, h);
      return kernels.combine(h * cols, threshold, thresholdUp, cut, weight);
    },
    onePass: {
      start: (cap) => kernels.startModule(cap),
      async block(row, h, lo, hi, weight) {
        await deltas(row, h);
        return kernels.fused(h * cols, row * cols, lo, hi, weight);
      },
      unsure: () => kernels.unsure(),
      finish: (threshold, cut, weight) => kernels.finish(threshold, cut, weight),
    },
    done: () => spareKernels.keep(kernels),
  };
}

async function graphPasses(s: Stacked, rowsPerBlock: number): Promise<TiesPasses> {
  const { n, cols } = s;
  const a = f32(s.a, [n, s.rank, cols]);
  const perMember = (x: Float32Array) => f32(x, [n, 1, 1]);
  let plane: ort.Tensor | null = null;
  return {
    rowsPerBlock,
    async stats(row, h, lo, hi) {
      const out = await (await tiesStatsSession()).run({ b: blockB(s, row, h), a, lo: perMember(lo), hi: perMember(hi) });
      const where = out.where.data as Int32Array;
      const values = out.values.data as Float32Array;
      const count = values.length;
      // NonZero lists the members in order.
      const ends = new Int32Array(n);
      for (let j = 0; j < count; j++) ends[where[j]]++;
      for (let i = 1; i < n; i++) ends[i] += ends[i - 1];
      const positions = Int32Array.from({ length: count }, (_, j) => (row + where[count + j]) * cols + where[2 * count + j]);
      return { above: out.above.data as Int32Array, ends, values, positions };
    },
    async combine(row, h, threshold, thresholdUp, cut, weight) {
      const p = h * cols;
      const b = blockB(s, row, h);
      const w = perMember(weight);
      if (cut.every((c) => c === 0 || c === p)) {
        const t = threshold.map((x, i) => (cut[i] === 0 ? thresholdUp[i] : x));
        const out = await (await tiesCombineSession(false)).run({ b, a, threshold: perMember(t), weight: w });
        return out.merged.data as Float32Array;
      }
      if (!plane || plane.dims[1] !== h)
        plane = f32(
          Float32Array.from({ length: p }, (_, j) => j),
          [1, h, cols],
        );
      const session = await tiesCombineSession(true);
      const out = await session.run({
        b,
        a,
        threshold: perMember(threshold),
        weight: w,
        cut: perMember(Float32Array.from(cut)),
        position: plane,
      });
      return out.merged.data as Float32Array;
    },
    done: () => {},
  };
}
