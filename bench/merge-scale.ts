/**
 * The merge benchmark's Llama-3-8B-shape timings and its efficiency: an `rmm_shared` merge (p = 4) of 8 random r=16
 * adapters on all seven projections, one revert from it, the peak RSS while merging, and the achieved GFLOP/s of
 * the runtime products (gemm-runner.ts counts them) over a MatMul peak sampled right before and after in the same
 * run. The 8B merge runs on `layers` of the 32 layers and is extrapolated linearly (every layer has the same
 * shapes); the JSON says so.
 */
import { gemmCounters } from '../gpu-backend/lowrank/gemm-runner.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { buildReversibleMerge, revertTask } from '../gpu-backend/lowrank/reversible.ts';
import { withPeak } from './measure.ts';
import { randomMembers } from './merge-random.ts';

const LLAMA3_8B_LAYERS = 32;

/** Bytes of the members' fp32 factors. */
export function memberBytes(members: Member[]): number {
  return members.reduce((s, m) => s + m.adapter.modules.reduce((t, x) => t + 4 * x.rank * (x.in + x.out), 0), 0);
}

/** Runs `fn` while sampling RSS every 20 ms (the merge yields at every runtime product); returns its peak in MB. */
export async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakMb: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

export interface ScaleTimings {
  merge_8x16_8b_s: number;
  revert_8b_ms: number;
  merge_peak_rss_mb: number;
  members_mb: number;
  layers_timed: number;
  extrapolated: boolean;
  merge_gflops: number;
  merge_gflops_vs_peak: number;
  matmul_peak_gflops: number;
}

export async function timeScale(layers: number): Promise<ScaleTimings> {
  const members = randomMembers(8, 16, 7, layers, 'llama3-8b');
  const macsBefore = gemmCounters.runtimeMacs;
  const {
    value: { merge, seconds, peakMb },
    peak,
  } = await withPeak(2048, async () => {
    const t = performance.now();
    const { value, peakMb } = await peakRss(() => buildReversibleMerge(members, { construction: 'shared', basisSize: 4 }));
    return { merge: value, seconds: (performance.now() - t) / 1000, peakMb };
  });
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
    merge_peak_rss_mb: peakMb,
    members_mb: memberBytes(members) / 2 ** 20,
    layers_timed: layers,
    extrapolated: layers < LLAMA3_8B_LAYERS,
    merge_gflops: gflops,
    merge_gflops_vs_peak: gflops / peak,
    matmul_peak_gflops: peak,
  };
}
