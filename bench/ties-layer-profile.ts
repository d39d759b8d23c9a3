/**
 * One Llama-3-8B-shape layer of the TIES merge (8 random r=16 members, density 0.5, whole deltas), for profiling:
 * `node --import tsx --cpu-prof --cpu-prof-dir=DIR bench/ties-layer-profile.ts [layers]`. The TIES thread is ended
 * normally before the process exits, so its profile is written beside the main thread's. Prints one JSON line: wall
 * and CPU seconds of the merge.
 */
import { mergeCollapsed } from '../gpu-backend/lowrank/merge-collapsed.ts';
import { endTiesThread } from '../gpu-backend/lowrank/ties-offthread.ts';
import { randomMembers } from './merge-random.ts';

const layers = Number(process.argv[2] ?? 1);
const members = randomMembers(8, 16, 7, layers, 'llama3-8b');
const cpu = process.cpuUsage();
const t = performance.now();
await mergeCollapsed(members, { method: 'ties', density: 0.5 });
const seconds = (performance.now() - t) / 1000;
const used = process.cpuUsage(cpu);
await endTiesThread();
console.log(JSON.stringify({ seconds, cpu_seconds: (used.user + used.system) / 1e6 }));
