import { describe, expect, test } from 'vitest';
import { buildFactorModules, FACTOR_POOL_MIN, factorModule } from '../../gpu-backend/lowrank/reversible-factor.ts';
import type { AlignedModule } from '../../gpu-backend/lowrank/reversible-types.ts';
import { randomMat } from './helpers.ts';

describe('the float64 thread pool', () => {
  test('a factor-space module fitted on a thread equals the one fitted in place (mixed ranks, a task lacking the module)', async () => {
    const out = FACTOR_POOL_MIN;
    const inDim = 40;
    const factor = (r: number, seed: number) => ({
      layer: 0,
      projection: 'q_proj' as const,
      path: 'model.layers.0.self_attn.q_proj',
      b: randomMat(out, r, seed),
      a: randomMat(r, inDim, seed + 100),
    });
    const slot: AlignedModule = {
      layer: 0,
      projection: 'q_proj',
      path: 'model.layers.0.self_attn.q_proj',
      out,
      in: inDim,
      factors: [factor(4, 1), factor(3, 2), null, factor(4, 3)],
    };
    for (const svdForm of [false, true]) {
      const [threaded] = await buildFactorModules([slot], 2, svdForm);
      expect(threaded.parts).toEqual(factorModule(slot, 2, svdForm).parts);
    }
  });
});
