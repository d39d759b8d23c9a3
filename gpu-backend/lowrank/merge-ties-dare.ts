/**
 * The element-wise combiners of PEFT's `utils/merge_utils.py`, on flat float64 tensors of one shape: a
 * weighted sum (task arithmetic), TIES (magnitude trim, sign elected by the total, disjoint mean) and DARE
 * (random keep with probability `density`, rescaled by 1/density; summed or merged as TIES). They know
 * nothing of LoRA: the caller hands them either whole deltas ΔWᵢ or single factors (all lora_A, then all
 * lora_B), which is the whole difference between PEFT's `ties_svd` and its plain `ties`.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { select } from './quickselect.ts';

export type Combiner = 'sum' | 'ties' | 'dare_linear' | 'dare_ties';

/** Σ wᵢ·tᵢ. */
export function weightedSum(tensors: Float64Array[], weights: number[]): Float64Array {
  const out = new Float64Array(tensors[0].length);
  tensors.forEach((t, i) => {
    const w = weights[i];
    for (let j = 0; j < out.length; j++) out[j] += w * t[j];
  });
  return out;
}

/**
 * Keeps the k = ⌊density·n⌋ entries of largest magnitude (torch.topk in `magnitude_based_pruning`); where
 * magnitudes tie at the threshold the earlier entries are kept, so exactly k survive.
 */
export function magnitudeTrim(t: Float64Array, density: number): Float64Array {
  if (density >= 1) return t.slice();
  const k = Math.floor(density * t.length);
  const out = new Float64Array(t.length);
  if (k === 0) return out;
  const mags = new Float64Array(t.length);
  for (let j = 0; j < t.length; j++) mags[j] = Math.abs(t[j]);
  const threshold = select(mags, t.length - k);
  let above = 0;
  for (const v of t) if (Math.abs(v) > threshold) above++;
  let atThreshold = k - above;
  for (let j = 0; j < t.length; j++) {
    const m = Math.abs(t[j]);
    if (m > threshold || (m === threshold && atThreshold-- > 0)) out[j] = t[j];
  }
  return out;
}

/** Each entry kept with probability `density` and divided by it (`random_pruning` with rescale). */
export function dareKeep(t: Float64Array, density: number, rng: RandomGenerator): Float64Array {
  if (density >= 1) return t.slice();
  const out = new Float64Array(t.length);
  for (let j = 0; j < t.length; j++) if (uniformFloat64(rng) < density) out[j] = t[j] / density;
  return out;
}

/**
 * TIES' elect and disjoint merge: the sign of Σ tᵢ (of the trimmed, unweighted tensors; ≥ 0 counts as +)
 * wins; each entry is the mean of wᵢ·tᵢ over the tensors that carry the winning sign there.
 */
export function disjointMean(tensors: Float64Array[], weights: number[]): Float64Array {
  const n = tensors[0].length;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let total = 0;
    for (const t of tensors) total += t[j];
    const sign = total >= 0 ? 1 : -1;
    let sum = 0;
    let count = 0;
    tensors.forEach((t, i) => {
      if (Math.sign(t[j]) === sign) {
        sum += weights[i] * t[j];
        count++;
      }
    });
    out[j] = sum / Math.max(count, 1);
  }
  return out;
}

/** One combiner over tensors of one shape, as merge_utils' task_arithmetic / ties / dare_linear / dare_ties. */
export function combine(how: Combiner, tensors: Float64Array[], weights: number[], density: number, rng: RandomGenerator): Float64Array {
  switch (how) {
    case 'sum':
      return weightedSum(tensors, weights);
    case 'ties':
      return disjointMean(
        tensors.map((t) => magnitudeTrim(t, density)),
        weights,
      );
    case 'dare_linear':
      return weightedSum(
        tensors.map((t) => dareKeep(t, density, rng)),
        weights,
      );
    case 'dare_ties':
      return disjointMean(
        tensors.map((t) => dareKeep(t, density, rng)),
        weights,
      );
  }
}
