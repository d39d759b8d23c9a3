/**
 * breadcrumbs: mergekit's Model Breadcrumbs (`breadcrumbs` in merge_methods/registry.py: magnitude_outliers
 * sparsification, no rescale, no consensus, no normalize) applied to the members' whole deltas, module by
 * module, with mergekit's defaults: density 1 (nothing dropped), gamma 0.01, lambda 1.
 */
import { type DenseValues, sumRule, zerosLike } from '../merge-ties-dare.ts';
import { select } from '../quickselect.ts';
import { denseDeltaMethod } from './dense-delta-method.ts';

/**
 * Drops the ⌊gamma·N⌋ largest magnitudes and then the smallest, so that ⌊density·N⌋ entries stay; where both
 * cannot hold, fewer large ones are dropped. mergekit keeps `indices[n_bot:-n_top]`, which is empty when
 * n_top is 0; here that case keeps everything above the n_bot smallest, as the method means.
 */
export function dropOutliers<T extends DenseValues>(delta: T, density: number, gamma: number): T {
  if (density >= 1) return delta;
  const n = delta.length;
  const target = Math.floor(density * n);
  let top = Math.floor(gamma * n);
  let bottom = n - target - top;
  if (bottom < 0) {
    top += bottom;
    bottom = 0;
  }
  const out = zerosLike(delta) as T;
  if (n - top <= bottom) return out;
  // The entries of magnitude rank [bottom, n − top), ranks as a stable sort by magnitude gives them (ties in index
  // order), from two selects rather than that sort: sorting an 8B module's 16.7M entries with a comparator took
  // minutes per member.
  const mags = zerosLike(delta);
  for (let i = 0; i < n; i++) mags[i] = Math.abs(delta[i]);
  const lo = select(mags, bottom);
  const hi = select(mags, n - top - 1);
  let belowLo = 0;
  let belowHi = 0;
  for (let i = 0; i < n; i++) {
    const m = mags[i];
    if (m < lo) belowLo++;
    if (m < hi) belowHi++;
  }
  let tiedLo = 0;
  let tiedHi = 0;
  for (let i = 0; i < n; i++) {
    const m = Math.abs(delta[i]);
    if (m < lo || m > hi) continue;
    if (m > lo && m < hi) {
      out[i] = delta[i];
      continue;
    }
    // At a threshold: its rank is the count below it plus the ties before it.
    const rank = m === lo ? belowLo + tiedLo++ : belowHi + tiedHi++;
    if (rank >= bottom && rank < n - top) out[i] = delta[i];
  }
  return out;
}

export const implementation = denseDeltaMethod('breadcrumbs', (params) => {
  const density = (params.density as number | undefined) ?? 1;
  const gamma = (params.gamma as number | undefined) ?? 0.01;
  const lambda = (params.lambda as number | undefined) ?? 1;
  return () => {
    const sum = sumRule();
    return {
      add: (d, w) => sum.add(dropOutliers(d, density, gamma), w),
      result() {
        // mergekit divides by Σ wᵢ only when normalizing, which breadcrumbs does not.
        const out = sum.result();
        for (let j = 0; j < out.length; j++) out[j] *= lambda;
        return out;
      },
    };
  };
});
