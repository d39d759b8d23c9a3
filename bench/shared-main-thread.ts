/**
 * One 135M `rmm_shared` merge (8 random r16 adapters, p = 4) for profiling its main thread: builds it `runs`
 * times in this process and prints, per build, wall time, the process's CPU (every thread) and the main
 * thread's CPU (/proc/self/task/<pid>/stat), so that two checkouts can be compared in turn.
 * Usage: node --import tsx bench/shared-main-thread.ts [runs] [layers]
 */
import { readFileSync } from 'node:fs';
import { buildReversibleMerge } from '../gpu-backend/lowrank/reversible.ts';
import { randomMembers } from './merge-random.ts';

/** utime + stime of /proc/<path>/stat, in ms (ticks of 10 ms). */
function cpuMsOf(path: string): number {
  const stat = readFileSync(`/proc/${path}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const runs = Number(process.argv[2] ?? 2);
const layers = process.argv[3] ? Number(process.argv[3]) : undefined;
const members = randomMembers(8, 16, 1, layers);
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  const all = cpuMsOf('self');
  const main = cpuMsOf(`self/task/${process.pid}`);
  await buildReversibleMerge(members, { construction: 'shared', basisSize: 4 });
  console.log(
    JSON.stringify({
      run: i,
      wall_s: (performance.now() - t) / 1000,
      cpu_s: (cpuMsOf('self') - all) / 1000,
      main_cpu_s: (cpuMsOf(`self/task/${process.pid}`) - main) / 1000,
    }),
  );
}
process.exit(0);
