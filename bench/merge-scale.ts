/**
 * The merge benchmark's Llama-3-8B-shape timings and its efficiency: an `rmm_shared` merge (p = 4) of 8 random r=16
 * adapters on all seven projections, one revert from it, the peak RSS of the same merge run alone in a fresh process
 * on two layer counts (against the budget of twice the members' bytes plus 1 GB; the two give the growth per layer,
 * and so the peak of all 32 layers against their budget), and the achieved GFLOP/s of
 * the runtime products (gemm-runner.ts counts them) over a MatMul peak sampled right before and after in the same
 * run. The 8B merge runs on `layers` of the 32 layers and is extrapolated linearly (every layer has the same
 * shapes); the JSON says so.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gemmCounters } from '../gpu-backend/lowrank/gemm-runner.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { buildReversibleMerge, revertTask } from '../gpu-backend/lowrank/reversible.ts';
import { MERGE_HEAP_OPTION } from '../gpu-backend/worker/merge-heap.ts';
import { withPeak } from './measure.ts';
import { randomMembers } from './merge-random.ts';

const LLAMA3_8B_LAYERS = 32;

/** Bytes of the members' fp32 factors. */
export function memberBytes(members: Member[]): number {
  return members.reduce((s, m) => s + m.adapter.modules.reduce((t, x) => t + 4 * x.rank * (x.in + x.out), 0), 0);
}

/** What merge-peak-child.ts prints for one merge run alone in a fresh process. */
export interface ChildMerge {
  peak_mb: number;
  before_mb: number;
  members_mb: number;
  member_values: number;
  seconds: number;
  cpu_seconds: number;
}

/**
 * Runs one 8B-shape merge in a fresh process (merge-peak-child.ts) and returns its own peak RSS: this process has
 * loaded models and run every other merge by then, so its RSS says nothing about one merge. The process has the
 * heap the backend's compute thread merges in (merge-heap.ts), so the peak is the product's.
 */
export async function mergeAlone<T = ChildMerge>(kind: 'rmm_shared' | 'ties' | 'ties-each', layers: number): Promise<T> {
  const child = fileURLToPath(new URL('./merge-peak-child.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [MERGE_HEAP_OPTION, '--import', 'tsx', child, kind, String(layers)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
}

/** The budget the issue sets for a merge's peak RSS: twice the members' bytes plus 1 GB. */
export const rssBudgetMb = (membersMb: number): number => 2 * membersMb + 1024;

export interface ScaleTimings {
  merge_8x16_8b_s: number;
  revert_8b_ms: number;
  /** Peak RSS of the merge alone on `merge_peak_layers` layers. */
  merge_peak_rss_mb: number;
  merge_peak_layers: number;
  /** Its growth per layer, from a run on fewer layers (at one layer the fixed part still grows: 2 and up). */
  merge_peak_mb_per_layer: number;
  /**
   * The peak of a full 32-layer merge and its budget: measured on all 32 layers where `allLayers` (the full run; ~6 s
   * and ~3.5 GB), else extrapolated linearly from the two runs, which overstates it (8 December: 4,002 extrapolated
   * against 3,497 measured).
   */
  merge_peak_rss_32_mb: number;
  merge_peak_rss_32_measured: boolean;
  /** The linear extrapolation, printed beside the measured peak so runs before and after compare. */
  merge_peak_rss_32_extrapolated_mb: number;
  /** Wall seconds of the 32-layer merge alone (null where it was not run). */
  merge_8b_all_layers_s: number | null;
  merge_rss_budget_32_mb: number;
  /** RSS of the merge's process before it started (node, onnxruntime, the members). */
  merge_rss_before_mb: number;
  merge_rss_budget_mb: number;
  /** The members' bytes in the run on `merge_peak_layers` layers (what its budget counts). */
  members_mb: number;
  layers_timed: number;
  extrapolated: boolean;
  merge_gflops: number;
  merge_gflops_vs_peak: number;
  matmul_peak_gflops: number;
}

export async function timeScale(layers: number, [fewLayers, peakLayers]: [number, number], allLayers = false): Promise<ScaleTimings> {
  const members = randomMembers(8, 16, 7, layers, 'llama3-8b');
  const macsBefore = gemmCounters.runtimeMacs;
  const {
    value: { merge, seconds },
    peak,
  } = await withPeak(2048, async () => {
    const t = performance.now();
    const merge = await buildReversibleMerge(members, { construction: 'shared', basisSize: 4 });
    return { merge, seconds: (performance.now() - t) / 1000 };
  });
  const few = await mergeAlone('rmm_shared', fewLayers);
  const alone = await mergeAlone('rmm_shared', peakLayers);
  const perLayer = (alone.peak_mb - few.peak_mb) / (peakLayers - fewLayers);
  const extrapolated = alone.peak_mb + (LLAMA3_8B_LAYERS - peakLayers) * perLayer;
  const full = allLayers ? await mergeAlone('rmm_shared', LLAMA3_8B_LAYERS) : null;
  const flops = 2 * (gemmCounters.runtimeMacs - macsBefore);
  let revert = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await revertTask(merge, merge.tasks[i].name);
    revert = Math.min(revert, performance.now() - t);
  }
  const scale = LLAMA3_8B_LAYERS / layers;
  const gflops = flops / seconds / 1e9;
  return {
    merge_8x16_8b_s: seconds * scale,
    revert_8b_ms: revert * scale,
    merge_peak_rss_mb: alone.peak_mb,
    merge_peak_layers: peakLayers,
    merge_peak_mb_per_layer: perLayer,
    merge_peak_rss_32_mb: full?.peak_mb ?? extrapolated,
    merge_peak_rss_32_measured: full !== null,
    merge_peak_rss_32_extrapolated_mb: extrapolated,
    merge_8b_all_layers_s: full?.seconds ?? null,
    merge_rss_budget_32_mb: rssBudgetMb((alone.members_mb * LLAMA3_8B_LAYERS) / peakLayers),
    merge_rss_before_mb: alone.before_mb,
    merge_rss_budget_mb: rssBudgetMb(alone.members_mb),
    members_mb: alone.members_mb,
    layers_timed: layers,
    extrapolated: layers < LLAMA3_8B_LAYERS,
    merge_gflops: gflops,
    merge_gflops_vs_peak: gflops / peak,
    matmul_peak_gflops: peak,
  };
}
