/**
 * della: mergekit's DELLA (`della` in merge_methods/registry.py: della_magprune sparsification, L1 rescale,
 * sum consensus, normalize) applied to the members' whole deltas, module by module. Its defaults are mergekit's:
 * density 1 (nothing pruned), epsilon 0.15, lambda 1, rescale and normalize on. Keep masks come from a seeded
 * xoroshiro128+ (seed 0), as DARE's do, so a merge is repeatable; torch's Bernoulli draws are not reproduced.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { denseDeltaMethod } from './dense-delta-method.ts';

/**
 * MagPrune: in each row, an entry of magnitude rank q (0 smallest … 1 largest) is kept with probability
 * density − ε + 2ε·q, then the whole delta is rescaled to its L1 norm before pruning.
 */
export function magPrune(
  delta: Float64Array,
  shape: { rows: number; cols: number },
  density: number,
  epsilon: number,
  rng: RandomGenerator,
): Float64Array {
  if (density >= 1) return delta;
  const { rows, cols } = shape;
  const out = new Float64Array(delta.length);
  const order = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    const row = delta.subarray(r * cols, (r + 1) * cols);
    for (let c = 0; c < cols; c++) order[c] = c;
    order.sort((x, y) => Math.abs(row[x]) - Math.abs(row[y]));
    for (let q = 0; q < cols; q++) {
      const c = order[q];
      const p = density - epsilon + (cols > 1 ? q / (cols - 1) : 0) * 2 * epsilon;
      if (uniformFloat64(rng) < p) out[r * cols + c] = row[c];
    }
  }
  let before = 0;
  let after = 0;
  for (let i = 0; i < delta.length; i++) {
    before += Math.abs(delta[i]);
    after += Math.abs(out[i]);
  }
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
  const out = new Float64Array(deltas[0].length);
  for (let j = 0; j < out.length; j++) {
    let total = 0;
    for (let i = 0; i < deltas.length; i++) total += weights[i] * deltas[i][j];
    const sign = total >= 0 ? 1 : -1;
    let sum = 0;
    let divisor = 0;
    for (let i = 0; i < deltas.length; i++) {
      const x = weights[i] * deltas[i][j];
      if (Math.sign(x) === sign) {
        sum += x;
        divisor += weights[i];
      }
    }
    out[j] = (sum / (divisor === 0 ? 1 : divisor)) * lambda;
  }
  return out;
}

export const implementation = denseDeltaMethod('della', (params) => {
  const density = (params.density as number | undefined) ?? 1;
  const epsilon = (params.epsilon as number | undefined) ?? 0.15;
  const lambda = (params.lambda as number | undefined) ?? 1;
  const rng = xoroshiro128plus(0);
  return (deltas, weights, shape) =>
    normalizedConsensus(
      deltas.map((d) => magPrune(d, shape, density, epsilon, rng)),
      weights,
      lambda,
    );
});
