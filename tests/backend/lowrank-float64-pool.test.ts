import { describe, expect, test } from 'vitest';
import { buildFactorModules, FACTOR_POOL_MIN, factorModule } from '../../gpu-backend/lowrank/reversible-factor.ts';
import type { AdapterModule } from '../../contracts/formats/adapter.ts';
import { loadEigenKernels } from '../../gpu-backend/lowrank/eigen-kernels.ts';
import { deltaFactors } from '../../gpu-backend/lowrank/peft-adapter.ts';
import { type AlignedModule, alignedOf } from '../../gpu-backend/lowrank/reversible-types.ts';
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

  test('a module fitted from the members as stored (float32, scaled B, read in place) equals the fit of the widened factors', async () => {
    const kernels = await loadEigenKernels();
    const out = FACTOR_POOL_MIN + 9;
    const inDim = 33;
    const path = 'model.layers.0.self_attn.q_proj';
    const module = (rank: number, seed: number, scale: number): AdapterModule => ({
      layer: 0,
      projection: 'q_proj',
      path,
      rank,
      scale,
      in: inDim,
      out,
      b: Float32Array.from(randomMat(out, rank, seed).data),
      a: Float32Array.from(randomMat(rank, inDim, seed + 100).data),
    });
    const slot = { layer: 0, projection: 'q_proj' as const, path, out, in: inDim };
    const cases: [(AdapterModule | null)[], number][] = [
      [Array.from({ length: 8 }, (_, i) => module(16, 10 + i, 0.5 + i / 3)), 4],
      [[module(6, 1, 2), module(4, 2, 1), null, module(6, 3, 0.25), module(5, 4, 3)], 2],
      [[module(3, 1, 2), module(2, 2, 1), module(3, 3, 0.7)], 3],
      [[module(2, 1, 2), module(2, 2, 1), module(1, 3, 0.7), module(2, 4, 1.5)], 2],
    ];
    for (const [stored, p] of cases) {
      const widened: AlignedModule = { ...slot, factors: stored.map((m) => (m ? deltaFactors(m) : null)) };
      for (const svdForm of [false, true]) {
        const expected = factorModule(widened, p, svdForm, null).parts;
        expect(factorModule(alignedOf(slot, stored), p, svdForm, kernels).parts).toEqual(expected);
        expect(factorModule(alignedOf(slot, stored), p, svdForm, null).parts).toEqual(expected);
        // Two modules in one merge: the members as stored write their parts into shared memory laid out per merge.
        const threaded = await buildFactorModules([alignedOf(slot, stored), alignedOf(slot, stored)], p, svdForm);
        for (const m of threaded) {
          expect(m.parts).toEqual(expected);
          for (const part of Object.values(m.parts)) expect(part.data.buffer instanceof SharedArrayBuffer).toBe(!svdForm);
        }
      }
    }
  });
});
