/**
 * The merge benchmark's dense-delta timing on the Llama-3-8B shape: a TIES merge (density 0.5, the members' whole
 * deltas, one module at a time on the runtime, ties-runtime.ts) of 8 random r=16 adapters on all seven
 * projections, its peak RSS against the members' bytes, and the rate in member delta values per second. It runs on
 * `layers` of the 32 layers and is extrapolated linearly (every layer has the same shapes); the JSON says so. The
 * MatMul peak sampled right before and after is the run's yardstick.
 */
import { mergeCollapsed } from '../gpu-backend/lowrank/merge-collapsed.ts';
import { withPeak } from './measure.ts';
import { memberBytes, peakRss } from './merge-scale.ts';
import { randomMembers } from './merge-random.ts';

const LLAMA3_8B_LAYERS = 32;

export interface TiesScaleTiming {
  ties_8x16_8b_s: number;
  ties_peak_rss_mb: number;
  ties_members_mb: number;
  ties_values_per_s: number;
  layers_timed: number;
  extrapolated: boolean;
  matmul_peak_gflops: number;
}

export async function timeTiesScale(layers: number): Promise<TiesScaleTiming> {
  const members = randomMembers(8, 16, 7, layers, 'llama3-8b');
  const values = members.reduce((s, m) => s + m.adapter.modules.reduce((t, x) => t + x.out * x.in, 0), 0);
  const {
    value: { seconds, peakMb },
    peak,
  } = await withPeak(2048, async () => {
    const t = performance.now();
    const { peakMb } = await peakRss(() => mergeCollapsed(members, { method: 'ties', density: 0.5 }));
    return { seconds: (performance.now() - t) / 1000, peakMb };
  });
  return {
    ties_8x16_8b_s: (seconds * LLAMA3_8B_LAYERS) / layers,
    ties_peak_rss_mb: peakMb,
    ties_members_mb: memberBytes(members) / 2 ** 20,
    ties_values_per_s: values / seconds,
    layers_timed: layers,
    extrapolated: layers < LLAMA3_8B_LAYERS,
    matmul_peak_gflops: peak,
  };
}
