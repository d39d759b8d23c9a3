/**
 * The element-wise combiners of PEFT's `utils/merge_utils.py`, on flat float64 tensors of one shape: a
 * weighted sum (task arithmetic), TIES (magnitude trim, sign elected by the total, disjoint mean) and DARE
 * (random keep with probability `density`, rescaled by 1/density; summed or merged as TIES). They know
 * nothing of LoRA: the caller hands them either whole deltas ΔWᵢ or single factors (all lora_A, then all
 * lora_B), which is the whole difference between PEFT's `ties_svd` and its plain `ties`.
 *
 * Over whole deltas the same rules run as `DeltaRule`s: each member's delta is given once, in member order, and folded
 * into running sums, so that a module never holds more than one member's dense delta (all of a module's members in
 * float64 were ~3.8 GB at the Llama-3-8B MLP shape with 8 members). The folds add in the same order as the
 * array forms, so in float64 both give the same values.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { select } from './quickselect.ts';

export type Combiner = 'sum' | 'ties' | 'dare_linear' | 'dare_ties';

/** A dense delta's values: float32 where the runtime formed them (large modules), float64 where JS did. */
export type DenseValues = Float32Array | Float64Array;

/** Zeros of `like`'s precision, so that a large module's sums stay float32 (half the memory) and a small one's float64. */
export const zerosLike = (like: DenseValues, length = like.length): DenseValues =>
  like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);

/**
 * One module's element-wise merge over the members' whole deltas, fed one member at a time in member order; `delta`
 * is that member's own copy (a rule may overwrite it). `result` is the merged delta, of the deltas' precision.
 */
export interface DeltaRule {
  add(delta: DenseValues, weight: number): void;
  result(): DenseValues;
}

/** Σ wᵢ·tᵢ, one tᵢ at a time. */
export function sumRule(): DeltaRule {
  let out: DenseValues | null = null;
  return {
    add(t, w) {
      out ??= zerosLike(t);
      for (let j = 0; j < out.length; j++) out[j] += w * t[j];
    },
    result() {
      if (!out) throw new Error('sumRule: no member was added');
      return out;
    },
  };
}

/**
 * TIES' elect and disjoint merge, one tensor at a time: the running total Σ tᵢ and, per sign, Σ wᵢ·tᵢ and the count
 * of the tensors of that sign; the sign of the total wins (≥ 0 counts as +). Counts are kept in 16 bits (members are
 * far fewer than 65536).
 */
export function disjointRule(): DeltaRule {
  let acc: { total: DenseValues; plus: DenseValues; minus: DenseValues; nPlus: Uint16Array; nMinus: Uint16Array } | null = null;
  return {
    add(t, w) {
      acc ??= {
        total: zerosLike(t),
        plus: zerosLike(t),
        minus: zerosLike(t),
        nPlus: new Uint16Array(t.length),
        nMinus: new Uint16Array(t.length),
      };
      const { total, plus, minus, nPlus, nMinus } = acc;
      for (let j = 0; j < t.length; j++) {
        const x = t[j];
        total[j] += x;
        if (x > 0) {
          plus[j] += w * x;
          nPlus[j]++;
        } else if (x < 0) {
          minus[j] += w * x;
          nMinus[j]++;
        }
      }
    },
    result() {
      if (!acc) throw new Error('disjointRule: no member was added');
      const { total, plus, minus, nPlus, nMinus } = acc;
      // Written over the total, which is read once per entry before.
      for (let j = 0; j < total.length; j++) total[j] = total[j] >= 0 ? plus[j] / Math.max(nPlus[j], 1) : minus[j] / Math.max(nMinus[j], 1);
      return total;
    },
  };
}

/** Σ wᵢ·tᵢ. */
export function weightedSum(tensors: Float64Array[], weights: number[]): Float64Array {
  return fold(sumRule(), tensors, weights);
}

function fold(rule: DeltaRule, tensors: Float64Array[], weights: number[]): Float64Array {
  tensors.forEach((t, i) => rule.add(t, weights[i]));
  return rule.result() as Float64Array;
}

/**
 * Keeps the k = ⌊density·n⌋ entries of largest magnitude (torch.topk in `magnitude_based_pruning`); where
 * magnitudes tie at the threshold the earlier entries are kept, so exactly k survive.
 */
export function magnitudeTrim<T extends DenseValues>(t: T, density: number): T {
  if (density >= 1) return t.slice() as T;
  const k = Math.floor(density * t.length);
  const out = zerosLike(t) as T;
  if (k === 0) return out;
  const mags = zerosLike(t);
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

/** Each entry kept with probability `density` and divided by it (`random_pruning` with rescale); `out` may be `t`. */
export function dareKeep<T extends DenseValues>(t: T, density: number, rng: RandomGenerator, out: T = zerosLike(t) as T): T {
  if (density >= 1) return out === t ? t : (t.slice() as T);
  for (let j = 0; j < t.length; j++) out[j] = uniformFloat64(rng) < density ? t[j] / density : 0;
  return out;
}

/**
 * TIES' elect and disjoint merge: the sign of Σ tᵢ (of the trimmed, unweighted tensors; ≥ 0 counts as +)
 * wins; each entry is the mean of wᵢ·tᵢ over the tensors that carry the winning sign there.
 */
export function disjointMean(tensors: Float64Array[], weights: number[]): Float64Array {
  return fold(disjointRule(), tensors, weights);
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

/**
 * The same combiners over whole deltas as rules (one member at a time). `rng` is drawn in member order, as `combine`
 * draws it, so both keep the same entries.
 */
export function combineRule(how: Exclude<Combiner, 'sum'>, density: number, rng: RandomGenerator): DeltaRule {
  const inner = how === 'dare_linear' ? sumRule() : disjointRule();
  // A rule's delta is its own: DARE keeps in place.
  const sparsify = (t: DenseValues) => (how === 'ties' ? magnitudeTrim(t, density) : dareKeep(t, density, rng, t));
  return { add: (t, w) => inner.add(sparsify(t), w), result: () => inner.result() };
}
