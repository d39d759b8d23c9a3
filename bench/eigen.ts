/**
 * `npm run bench -- eigen`: the float64 symmetric eigensolves that bound the reversible merges, the solver before
 * its WebAssembly loops (eigen-reference.ts) against today's, in turn in one process: random symmetric 64/128/256
 * matrices (the core-space Grams of `rmm_shared`, N = Σ ranks), and the small Grams of `rmm_factor`'s positions
 * (n×n for n tasks ≤ r), alone and as `rmm_factor`'s whole per-position fit (8 tasks of rank 16, p = 4, read
 * from float32 factors as stored: the JavaScript fit against the WebAssembly batches, which solve two positions
 * at a time in the lanes). CPU time per call, best of several rounds of many calls; the
 * yardstick is the old code measured in the same rounds, so `speedup_*` (old over new) is the figure to compare
 * across machines.
 */
import { eigenInPlaceReference } from './eigen-reference.ts';
import { loadEigenKernels } from '../gpu-backend/lowrank/eigen-kernels.ts';
import { factorModule } from '../gpu-backend/lowrank/reversible-factor.ts';
import { alignedOf } from '../gpu-backend/lowrank/reversible-types.ts';
import { eigenInPlace, eigenWork } from '../gpu-backend/lowrank/symmetric-eigen.ts';
import { gaussian } from '../gpu-backend/lowrank/svd.ts';
import { table } from './measure.ts';

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Random symmetric n×n matrices, `count` of them in one buffer. */
function matrices(n: number, count: number, seed: number): Float64Array {
  const x = gaussian(count * n, n, seed).data;
  const out = new Float64Array(count * n * n);
  for (let m = 0; m < count; m++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) out[m * n * n + i * n + j] = x[m * n * n + i * n + j] + x[m * n * n + j * n + i];
  return out;
}

type Solver = (n: number, v: Float64Array, w: { d: Float64Array; e: Float64Array }) => void;

/** CPU ms per call of each solver over the same matrices, rounds interleaved, best round each. */
function perCall(n: number, solvers: Solver[], quick: boolean): number[] {
  const calls = Math.max(4, Math.round((quick ? 2e6 : 8e6) / n ** 3));
  const source = matrices(n, Math.min(calls, 64), n);
  const v = new Float64Array(n * n);
  const w = eigenWork(n);
  const best = solvers.map(() => Infinity);
  for (let round = 0; round < (quick ? 3 : 7); round++) {
    solvers.forEach((solve, s) => {
      const t = cpuMs();
      for (let c = 0; c < calls; c++) {
        const m = c % 64;
        v.set(source.subarray(m * n * n, (m + 1) * n * n));
        solve(n, v, w);
      }
      best[s] = Math.min(best[s], (cpuMs() - t) / calls);
    });
  }
  return best;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  await loadEigenKernels();
  const result: Record<string, unknown> = { load_average: (await import('node:os')).loadavg()[0] };
  const rows: (string | number)[][] = [];
  for (const n of [4, 8, 16, 64, 128, 256]) {
    const [old, now] = perCall(n, [eigenInPlaceReference, (k, v, w) => eigenInPlace(k, v, w)], quick);
    rows.push([n, old * 1000, now * 1000, old / now]);
    result[`eig_${n}_old_us`] = +(old * 1000).toFixed(2);
    result[`eig_${n}_us`] = +(now * 1000).toFixed(2);
    result[`speedup_${n}`] = +(old / now).toFixed(2);
  }
  console.log(table(['n', 'old µs/call', 'new µs/call', 'old/new'], rows));

  // One module of 1024 + 64 positions, fitted whole from the members as stored (float32, as a merge reads them):
  // µs per position.
  const kernels = await loadEigenKernels();
  const path = 'model.layers.0.mlp.gate_proj';
  const slot = alignedOf(
    { layer: 0, projection: 'gate_proj', path, out: 1024, in: 64 },
    Array.from({ length: 8 }, (_, i) => ({
      layer: 0,
      projection: 'gate_proj' as const,
      path,
      rank: 16,
      scale: 2,
      in: 64,
      out: 1024,
      b: Float32Array.from(gaussian(1024, 16, 100 + i).data),
      a: Float32Array.from(gaussian(16, 64, 200 + i).data),
    })),
  );
  const fit = [Infinity, Infinity];
  for (let round = 0; round < (quick ? 3 : 7); round++)
    [null, kernels].forEach((k, i) => {
      const t = cpuMs();
      factorModule(slot, 4, false, k);
      fit[i] = Math.min(fit[i], ((cpuMs() - t) * 1000) / (slot.out + slot.in));
    });
  console.log(
    `rmm_factor fit, 8 tasks of r16, p = 4: ${fit[0].toFixed(2)} µs a position in JavaScript, ${fit[1].toFixed(2)} batched (${(fit[0] / fit[1]).toFixed(2)}x)`,
  );
  result.factor_fit_old_us = +fit[0].toFixed(2);
  result.factor_fit_us = +fit[1].toFixed(2);
  result.speedup_factor_fit = +(fit[0] / fit[1]).toFixed(2);
  return result;
}
