/**
 * An `rmm_shared` merge whose modules go whole to the float64 threads (their runtime products on the threads' own
 * sessions) equals, bit for bit, the same merge built on this thread with only the float64 kernels sent out.
 */
import { expect, test } from 'vitest';
import type { AdapterModule } from '../../contracts/formats/adapter.ts';
import type { Projection } from '../../contracts/formats/hf-config.ts';
import { gemmCounters } from '../../gpu-backend/lowrank/gemm-runner.ts';
import { deltaFactors } from '../../gpu-backend/lowrank/peft-adapter.ts';
import { buildSharedModules, setSharedOnThreads, sharedThreadCounters } from '../../gpu-backend/lowrank/reversible-shared.ts';
import { type AlignedModule, alignedOf } from '../../gpu-backend/lowrank/reversible-types.ts';
import { randomMat } from './helpers.ts';

const shapes: [Projection, number, number][] = [
  ['q_proj', 256, 192],
  ['down_proj', 192, 320],
];

/** Two layers of two module shapes over six members of mixed ranks (stacked rank ≥ 64); member 3 lacks one module. */
function slots(): AlignedModule[] {
  const ranks = [16, 12, 16, 14, 16, 10];
  return [0, 1].flatMap((layer) =>
    shapes.map(([projection, out, inDim], s) => {
      const path = `model.layers.${layer}.x.${projection}`;
      const stored = ranks.map((rank, i): AdapterModule | null =>
        i === 3 && layer === 1 && s === 0
          ? null
          : {
              layer,
              projection,
              path,
              rank,
              scale: 0.5 + i / 4,
              out,
              in: inDim,
              b: Float32Array.from(randomMat(out, rank, 100 * layer + 10 * s + i).data),
              a: Float32Array.from(randomMat(rank, inDim, 1000 + 100 * layer + 10 * s + i).data),
            },
      );
      return alignedOf({ layer, projection, path, out, in: inDim }, stored);
    }),
  );
}

const fullFloats = (aligned: AlignedModule[]) =>
  aligned.reduce((sum, slot) => sum + (slot.stored ?? []).reduce((t, m) => t + (m ? m.rank * (m.out + m.in) : 0), 0), 0);

test('an rmm_shared merge with whole modules on the float64 threads equals the one built here and counts the same products (p < n and p = n, stored or widened members)', async () => {
  const stored = slots();
  const widened = stored.map((slot): AlignedModule => ({ ...slot, factors: (slot.stored ?? []).map((m) => (m ? deltaFactors(m) : null)) }));
  for (const aligned of [stored, widened])
    for (const p of [2, 6]) {
      const was = setSharedOnThreads(false);
      const before = sharedThreadCounters.modules;
      const counted = () => ({ ...gemmCounters });
      const at = counted();
      const here = await buildSharedModules(aligned, p, fullFloats(stored));
      const [runtime, local] = [gemmCounters.runtimeMacs - at.runtimeMacs, gemmCounters.localMacs - at.localMacs];
      expect(runtime).toBeGreaterThan(0);
      expect(sharedThreadCounters.modules).toBe(before);
      setSharedOnThreads(true);
      try {
        const atThreads = counted();
        const threaded = await buildSharedModules(aligned, p, fullFloats(stored));
        expect(sharedThreadCounters.modules).toBe(before + aligned.length);
        // The threads' products are added to this thread's counters (bench merge's GFLOP/s divides by them).
        expect(gemmCounters.runtimeMacs - atThreads.runtimeMacs).toBe(runtime);
        expect(gemmCounters.localMacs - atThreads.localMacs).toBe(local);
        expect(threaded).toEqual(here);
      } finally {
        setSharedOnThreads(was);
      }
    }
});
