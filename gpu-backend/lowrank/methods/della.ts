/**
 * della: mergekit's DELLA (`della` in merge_methods/registry.py: della_magprune sparsification, L1 rescale,
 * sum consensus, normalize) applied to the members' whole deltas, module by module. Its defaults are mergekit's:
 * density 1 (nothing pruned), epsilon 0.15, lambda 1, rescale and normalize on. Keep masks come from a seeded
 * xoroshiro128+ (seed 0), as DARE's do, so a merge is repeatable; torch's Bernoulli draws are not reproduced.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { magnitudeOrderer } from '../magnitude-order.ts';
import { type DeltaRule, type DenseValues, zerosLike } from '../merge-ties-dare.ts';
import { denseDeltaMethod } from './dense-delta-method.ts';

/**
 * MagPrune: in each row, an entry of magnitude rank q (0 smallest … 1 largest) is kept with probability
 * density − ε + 2ε·q, then the whole delta is rescaled to its L1 norm before pruning. `out` may be `delta` (pruned
 * in place).
 */
export function magPrune<T extends DenseValues>(
  delta: T,
  shape: { rows: number; cols: number },
  density: number,
  epsilon: number,
  rng: RandomGenerator,
  out: T = zerosLike(delta) as T,
): T {
  if (density >= 1) return delta;
  const { rows, cols } = shape;
  let before = 0;
  for (let i = 0; i < delta.length; i++) before += Math.abs(delta[i]);
  const orderOf = magnitudeOrderer(cols);
  for (let r = 0; r < rows; r++) {
    const row = delta.subarray(r * cols, (r + 1) * cols);
    const order = orderOf(row);
    for (let q = 0; q < cols; q++) {
      const c = order[q];
      const p = density - epsilon + (cols > 1 ? q / (cols - 1) : 0) * 2 * epsilon;
      out[r * cols + c] = uniformFloat64(rng) < p ? row[c] : 0;
    }
  }
  let after = 0;
  for (let i = 0; i < out.length; i++) after += Math.abs(out[i]);
  if (before < 1e-7 || after < 1e-7) return out;
  const scale = before / after;
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

/**
 * mergekit's sum consensus with normalize: the sign of Σ wᵢ·δᵢ wins (≥ 0 counts as +); each entry is
 * Σ wᵢ·δᵢ over the members whose wᵢ·δᵢ has that sign, divided by their Σ wᵢ (1 where that is 0), times λ.
 */
export function normalizedConsensus(deltas: Float64Array[], weights: number[], lambda: number): Float64Array {
  const rule = consensusRule(lambda);
  deltas.forEach((d, i) => rule.add(d, weights[i]));
  return rule.result() as Float64Array;
}

/**
 * The same, one member at a time: per sign, the running Σ wᵢ·δᵢ and Σ wᵢ; the total is their sum (an entry's terms
 * of either sign summed apart, which may round its last bit differently from summing them in member order).
 */
function consensusRule(lambda: number): DeltaRule {
  let acc: { plus: DenseValues; minus: DenseValues; wPlus: DenseValues; wMinus: DenseValues } | null = null;
  return {
    add(d, w) {
      acc ??= { plus: zerosLike(d), minus: zerosLike(d), wPlus: zerosLike(d), wMinus: zerosLike(d) };
      const { plus, minus, wPlus, wMinus } = acc;
      for (let j = 0; j < d.length; j++) {
        const x = w * d[j];
        if (x > 0) {
          plus[j] += x;
          wPlus[j] += w;
        } else if (x < 0) {
          minus[j] += x;
          wMinus[j] += w;
        }
      }
    },
    result() {
      if (!acc) throw new Error('consensusRule: no member was added');
      const { plus, minus, wPlus, wMinus } = acc;
      for (let j = 0; j < plus.length; j++) {
        const [sum, divisor] = plus[j] + minus[j] >= 0 ? [plus[j], wPlus[j]] : [minus[j], wMinus[j]];
        plus[j] = (sum / (divisor === 0 ? 1 : divisor)) * lambda;
      }
      return plus;
    },
  };
}

export const implementation = denseDeltaMethod('della', (params) => {
  const density = (params.density as number | undefined) ?? 1;
  const epsilon = (params.epsilon as number | undefined) ?? 0.15;
  const lambda = (params.lambda as number | undefined) ?? 1;
  const rng = xoroshiro128plus(0);
  return (shape) => {
    const consensus = consensusRule(lambda);
    // A rule's delta is its own: pruned in place.
    return { add: (d, w) => consensus.add(magPrune(d, shape, density, epsilon, rng, d), w), result: () => consensus.result() };
  };
});
