/**
 * A focused look at one `rmm_factor` merge on the SmolLM2-135M shape (8 random r16 adapters, p = 4), for profiling
 * (`node --cpu-prof --import tsx bench/published-profile.ts [pool|inline|threads] [rounds]`): `pool` builds merges as
 * the product does (the fit on the float64 threads) and reverts two tasks (the first revert of a merge also stacks its parts); `inline` fits every module on this thread
 * (same arithmetic), so a profile of the main thread shows the fit's parts; `threads` builds merges as `pool` does
 * and prints each thread's CPU (/proc/self/task: this thread first, V8's helpers, the float64 threads). Prints wall
 * and process CPU per round.
 */
import { readdirSync } from 'node:fs';
import { loadEigenKernels } from '../gpu-backend/lowrank/eigen-kernels.ts';
import { factorModule } from '../gpu-backend/lowrank/reversible-factor.ts';
import { buildReversibleMerge, revertTask } from '../gpu-backend/lowrank/reversible.ts';
import { alignMembers } from '../gpu-backend/lowrank/reversible-types.ts';
import { randomMembers } from './merge-random.ts';
import { ownCpuMs } from './proc-stats.ts';

const mode = process.argv[2] ?? 'pool';
const rounds = Number(process.argv[3] ?? 3);
const members = randomMembers(8, 16, 1);
const kernels = await loadEigenKernels();
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** CPU ms of each of this process' threads, by thread id. */
const threadCpu = () => new Map(readdirSync('/proc/self/task').map((tid) => [tid, ownCpuMs(`self/task/${tid}`)]));
for (let round = 0; round < rounds; round++) {
  const t = performance.now();
  const c = cpu();
  if (mode === 'inline') {
    for (const slot of alignMembers(members)) factorModule(slot, 4, false, kernels);
    console.log(`inline fit: ${((performance.now() - t) / 1000).toFixed(3)} s wall, ${(cpu() - c).toFixed(3)} CPU-s`);
    continue;
  }
  const before = threadCpu();
  const merge = await buildReversibleMerge(members, { construction: 'factor', basisSize: 4 });
  const wall = (performance.now() - t) / 1000;
  const used = cpu() - c;
  if (mode === 'threads') {
    const busy = [...threadCpu()].map(([tid, ms]) => ms - (before.get(tid) ?? 0)).filter((ms) => ms > 0);
    console.log(`merge: ${wall.toFixed(3)} s wall, ${used.toFixed(3)} CPU-s; CPU ms by thread ${busy.join(' ')}`);
    continue;
  }
  // A merge's first revert also stacks its parts in float32 (kept for the next); the second is what a revert costs.
  const reverts = [];
  for (const task of [round % 8, (round + 1) % 8]) {
    const r0 = performance.now();
    await revertTask(merge, merge.tasks[task].name);
    reverts.push((performance.now() - r0).toFixed(1));
  }
  console.log(
    `merge: ${wall.toFixed(3)} s wall, ${used.toFixed(3)} CPU-s (all threads); first revert ${reverts[0]} ms, second ${reverts[1]} ms`,
  );
}
process.exit(0);
