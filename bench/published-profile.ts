/**
 * A focused look at one `rmm_factor` merge on the SmolLM2-135M shape (8 random r16 adapters, p = 4), for profiling
 * (`node --cpu-prof --import tsx bench/published-profile.ts [pool|inline|threads] [rounds]`): `pool` builds merges as
 * the product does (the fit on the float64 threads) and reverts two tasks (the first revert of a merge also stacks its parts); `inline` fits every module on this thread
 * (same arithmetic), so a profile of the main thread shows the fit's parts; `threads` builds merges as `pool` does
 * and prints each thread's CPU, its system part and its minor page faults (/proc/self/task: this thread first, V8's
 * helpers, the float64 threads). Prints wall and process CPU per round.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadEigenKernels } from '../gpu-backend/lowrank/eigen-kernels.ts';
import { factorModule } from '../gpu-backend/lowrank/reversible-factor.ts';
import { buildReversibleMerge, revertTask } from '../gpu-backend/lowrank/reversible.ts';
import { alignMembers } from '../gpu-backend/lowrank/reversible-types.ts';
import { randomMembers } from './merge-random.ts';

const mode = process.argv[2] ?? 'pool';
const rounds = Number(process.argv[3] ?? 3);
const members = randomMembers(8, 16, 1);
const kernels = await loadEigenKernels();
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Per thread (by id): CPU ticks (user + system), system ticks and minor faults, /proc/self/task/<tid>/stat's fields 14, 15 and 10. */
const threadStats = () =>
  new Map(
    readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [tid, [Number(f[11]) + Number(f[12]), Number(f[12]), Number(f[7])]] as const;
    }),
  );
/** Ticks of /proc's CPU times in ms (USER_HZ is 100 on Linux). */
const TICK_MS = 10;
for (let round = 0; round < rounds; round++) {
  const t = performance.now();
  const c = cpu();
  if (mode === 'inline') {
    for (const slot of alignMembers(members)) factorModule(slot, 4, false, kernels);
    console.log(`inline fit: ${((performance.now() - t) / 1000).toFixed(3)} s wall, ${(cpu() - c).toFixed(3)} CPU-s`);
    continue;
  }
  const before = threadStats();
  const merge = await buildReversibleMerge(members, { construction: 'factor', basisSize: 4 });
  const wall = (performance.now() - t) / 1000;
  const used = cpu() - c;
  if (mode === 'threads') {
    const busy = [...threadStats()]
      .map(([tid, now]) => now.map((v, i) => v - (before.get(tid)?.[i] ?? 0)))
      .filter(([ticks, , faults]) => ticks > 0 || faults > 1000)
      .map(([ticks, sys, faults]) => `${ticks * TICK_MS}/${sys * TICK_MS}/${faults}`);
    console.log(`merge: ${wall.toFixed(3)} s wall, ${used.toFixed(3)} CPU-s; by thread CPU ms/system ms/minor faults ${busy.join(' ')}`);
    continue;
  }
  // A merge's first revert also stacks its parts in float32 (kept for the next); the second is what a revert costs.
  const reverts = [];
  for (const task of [round % 8, (round + 1) % 8]) {
    const [r0, c0] = [performance.now(), cpu()];
    await revertTask(merge, merge.tasks[task].name);
    reverts.push(`${(performance.now() - r0).toFixed(1)} ms (${((cpu() - c0) * 1000).toFixed(0)} CPU-ms)`);
  }
  console.log(`merge: ${wall.toFixed(3)} s wall, ${used.toFixed(3)} CPU-s (all threads); first revert ${reverts[0]}, second ${reverts[1]}`);
}
process.exit(0);
