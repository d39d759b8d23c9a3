/**
 * One `rmm_shared` merge (8 random r16 adapters, p = 4) on the 135M shape, or on some layers of the Llama-3-8B
 * shape, for profiling: builds it `runs` times in this process and prints, per build, wall time, the process's
 * CPU (every thread), the main thread's CPU (/proc/self/task/<pid>/stat) and the runtime's achieved GFLOP/s over a
 * MatMul peak sampled right before and after the build, so that two checkouts can be compared in turn.
 * Usage: node --initial-old-space-size=128 --import tsx bench/shared-main-thread.ts [runs] [layers] [smollm2-135m | llama3-8b]
 * (the option gives this thread the heap the backend merges in: gpu-backend/worker/merge-heap.ts).
 */
import { gemmCounters } from '../gpu-backend/lowrank/gemm-runner.ts';
import { buildReversibleMerge } from '../gpu-backend/lowrank/reversible.ts';
import { withPeak } from './measure.ts';
import { randomMembers } from './merge-random.ts';
import { ownCpuMs } from './proc-stats.ts';

const runs = Number(process.argv[2] ?? 2);
const layers = process.argv[3] ? Number(process.argv[3]) : undefined;
const shape = process.argv[4] === 'llama3-8b' ? 'llama3-8b' : 'smollm2-135m';
const members = randomMembers(8, 16, shape === 'llama3-8b' ? 7 : 1, layers, shape);
for (let i = 0; i < runs; i++) {
  const macs = gemmCounters.runtimeMacs;
  const { value, peak } = await withPeak(2048, async () => {
    const t = performance.now();
    const all = ownCpuMs('self');
    const main = ownCpuMs(`self/task/${process.pid}`);
    await buildReversibleMerge(members, { construction: 'shared', basisSize: 4 });
    return {
      wall_s: (performance.now() - t) / 1000,
      cpu_s: (ownCpuMs('self') - all) / 1000,
      main_cpu_s: (ownCpuMs(`self/task/${process.pid}`) - main) / 1000,
    };
  });
  const gflops = (2 * (gemmCounters.runtimeMacs - macs)) / value.wall_s / 1e9;
  console.log(JSON.stringify({ run: i, shape, ...value, gflops, peak_gflops: peak, gflops_vs_peak: gflops / peak }));
}
process.exit(0);
