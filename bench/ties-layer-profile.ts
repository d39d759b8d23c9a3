/**
 * One Llama-3-8B-shape layer of the TIES merge (8 random r=16 members, density 0.5, whole deltas), for profiling:
 * `node --import tsx [--cpu-prof --cpu-prof-dir=DIR] bench/ties-layer-profile.ts [layers]`. The TIES thread is ended
 * normally before the process exits, so its profile is written beside the main thread's. Prints one JSON line: wall
 * and CPU seconds of the merge, and per thread (/proc/self/task, read before the TIES thread ends) its CPU seconds
 * and minor page faults, by thread name, the busiest first; a thread's fresh pages are each a minor fault, so the
 * faults tell how much of its CPU went to the kernel handing out and zeroing memory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mergeCollapsed } from '../gpu-backend/lowrank/merge-collapsed.ts';
import { endTiesThread } from '../gpu-backend/lowrank/ties-offthread.ts';
import { randomMembers } from './merge-random.ts';
import { selfStatusMb } from './proc-stats.ts';

const TICKS_PER_S = 100;

/** Per live thread: name, user and system CPU seconds and minor faults (/proc/self/task/<tid>/stat fields 10, 14, 15). */
function threads(): { tid: number; name: string; user: number; sys: number; minflt: number }[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid: Number(tid), name, user: Number(f[11]) / TICKS_PER_S, sys: Number(f[12]) / TICKS_PER_S, minflt: Number(f[7]) };
  });
}

const layers = Number(process.argv[2] ?? 1);
const members = randomMembers(8, 16, 7, layers, 'llama3-8b');
const before = new Map(threads().map((t) => [t.tid, t]));
const cpu = process.cpuUsage();
const t = performance.now();
await mergeCollapsed(members, { method: 'ties', density: 0.5 });
const seconds = (performance.now() - t) / 1000;
const used = process.cpuUsage(cpu);
const perThread = threads()
  .map((x) => {
    const b = before.get(x.tid);
    const user = x.user - (b?.user ?? 0);
    const sys = x.sys - (b?.sys ?? 0);
    return {
      name: x.tid === process.pid ? 'main' : x.name,
      tid: x.tid,
      cpu_s: user + sys,
      sys_s: sys,
      minflt: x.minflt - (b?.minflt ?? 0),
    };
  })
  .filter((x) => x.cpu_s > 0.05 || x.minflt > 1000)
  .sort((a, b) => b.cpu_s - a.cpu_s);
await endTiesThread();
console.log(JSON.stringify({ seconds, cpu_seconds: (used.user + used.system) / 1e6, peak_mb: selfStatusMb('VmHWM'), threads: perThread }));
