/**
 * The merge benchmark's dense-delta timing on the Llama-3-8B shape: a TIES merge (density 0.5, the members' whole
 * deltas, one module at a time, ties-runtime.ts) of 8 random r=16 adapters on all seven projections, run alone in a
 * fresh process (merge-peak-child.ts) so that its peak RSS is its own, against the budget of twice the members'
 * bytes plus 1 GB, and the rate in member delta values per second. Two layers are merged one after the other in that
 * process and the 32 layers extrapolated as the first plus 31 times the second: the first pays what a process pays
 * once (the TIES thread's start and JIT, its first fresh merged buffers), which 32 times the first counted 32 times
 * (that figure, the one earlier sessions reported, is kept beside it as `ties_8x16_8b_first_x32_s`). The JSON says
 * so. The MatMul peak sampled right before and after is the run's yardstick.
 */
import { withPeak } from './measure.ts';
import { mergeAlone, rssBudgetMb } from './merge-scale.ts';

const LLAMA3_8B_LAYERS = 32;

/** What merge-peak-child.ts prints for `ties-each`: one entry per layer in the arrays. */
interface ChildLayers {
  peak_mb: number;
  peak_all_mb: number;
  before_mb: number;
  members_mb: number;
  member_values: number;
  seconds: number[];
  cpu_seconds: number[];
}

export interface TiesScaleTiming {
  /** First layer + 31 × second. */
  ties_8x16_8b_s: number;
  /** CPU seconds of the same, extrapolated the same way (the wall time counts other load on a shared machine). */
  ties_8x16_8b_cpu_s: number;
  /** 32 × the first layer, as earlier sessions extrapolated (the once-per-process costs counted 32 times). */
  ties_8x16_8b_first_x32_s: number;
  ties_8x16_8b_first_x32_cpu_s: number;
  /** The two layers' own wall and CPU seconds. */
  ties_layer_s: number[];
  ties_layer_cpu_s: number[];
  /** Peak RSS after the first layer (one layer's merge). */
  ties_peak_rss_mb: number;
  /** RSS of the merge's process before it started (node, onnxruntime, the members). */
  ties_rss_before_mb: number;
  ties_rss_budget_mb: number;
  ties_members_mb: number;
  /** Of the second layer. */
  ties_values_per_s: number;
  layers_timed: number;
  extrapolated: boolean;
  matmul_peak_gflops: number;
}

const extrapolate = ([first, second]: number[]): number => first + (LLAMA3_8B_LAYERS - 1) * second;

export async function timeTiesScale(): Promise<TiesScaleTiming> {
  const { value: alone, peak } = await withPeak(2048, () => mergeAlone<ChildLayers>('ties-each', 2));
  return {
    ties_8x16_8b_s: extrapolate(alone.seconds),
    ties_8x16_8b_cpu_s: extrapolate(alone.cpu_seconds),
    ties_8x16_8b_first_x32_s: alone.seconds[0] * LLAMA3_8B_LAYERS,
    ties_8x16_8b_first_x32_cpu_s: alone.cpu_seconds[0] * LLAMA3_8B_LAYERS,
    ties_layer_s: alone.seconds,
    ties_layer_cpu_s: alone.cpu_seconds,
    ties_peak_rss_mb: alone.peak_mb,
    ties_rss_before_mb: alone.before_mb,
    ties_rss_budget_mb: rssBudgetMb(alone.members_mb),
    ties_members_mb: alone.members_mb,
    ties_values_per_s: alone.member_values / alone.seconds[1],
    layers_timed: alone.seconds.length,
    extrapolated: true,
    matmul_peak_gflops: peak,
  };
}
