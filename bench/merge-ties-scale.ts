/**
 * The merge benchmark's dense-delta timing on the Llama-3-8B shape: a TIES merge (density 0.5, the members' whole
 * deltas, one module at a time, ties-runtime.ts) of 8 random r=16 adapters on all seven projections, run alone in a
 * fresh process (merge-peak-child.ts) so that its peak RSS is its own, against the budget of twice the members'
 * bytes plus 1 GB, and the rate in member delta values per second. It runs on `layers` of the 32 layers and is
 * extrapolated linearly (every layer has the same shapes); the JSON says so. The MatMul peak sampled right before
 * and after is the run's yardstick.
 */
import { withPeak } from './measure.ts';
import { mergeAlone, rssBudgetMb } from './merge-scale.ts';

const LLAMA3_8B_LAYERS = 32;

export interface TiesScaleTiming {
  ties_8x16_8b_s: number;
  /** CPU seconds of the same, extrapolated the same way (the wall time counts other load on a shared machine). */
  ties_8x16_8b_cpu_s: number;
  ties_peak_rss_mb: number;
  /** RSS of the merge's process before it started (node, onnxruntime, the members). */
  ties_rss_before_mb: number;
  ties_rss_budget_mb: number;
  ties_members_mb: number;
  ties_values_per_s: number;
  layers_timed: number;
  extrapolated: boolean;
  matmul_peak_gflops: number;
}

export async function timeTiesScale(layers: number): Promise<TiesScaleTiming> {
  const { value: alone, peak } = await withPeak(2048, () => mergeAlone('ties', layers));
  return {
    ties_8x16_8b_s: (alone.seconds * LLAMA3_8B_LAYERS) / layers,
    ties_8x16_8b_cpu_s: (alone.cpu_seconds * LLAMA3_8B_LAYERS) / layers,
    ties_peak_rss_mb: alone.peak_mb,
    ties_rss_before_mb: alone.before_mb,
    ties_rss_budget_mb: rssBudgetMb(alone.members_mb),
    ties_members_mb: alone.members_mb,
    ties_values_per_s: alone.member_values / alone.seconds,
    layers_timed: layers,
    extrapolated: layers < LLAMA3_8B_LAYERS,
    matmul_peak_gflops: peak,
  };
}
