/**
 * One dense-delta merge (dare, della or breadcrumbs) of 8 random r=16 adapters on a single module of the Llama-3-8B
 * shape (one layer's `projection`), alone in a fresh process, so that its peak RSS (VmHWM) is the merge's own. Prints
 * one JSON line: the peak, the RSS once the members were built, the members' bytes, wall and CPU seconds.
 * `node --import tsx bench/merge-dense-peak-child.ts <dare|della|breadcrumbs> <projection>`
 */
import type { Projection } from '../contracts/formats/hf-config.ts';
import { implementationOf } from '../gpu-backend/lowrank/methods/index.ts';
import { randomMembers } from './merge-random.ts';
import { memberBytes } from './merge-scale.ts';
import { selfStatusMb as statusMb } from './proc-stats.ts';

const [method, projection] = [process.argv[2], process.argv[3] as Projection];
if (!['dare', 'della', 'breadcrumbs'].includes(method))
  throw new Error('usage: merge-dense-peak-child.ts <dare|della|breadcrumbs> <projection>');
const members = randomMembers(8, 16, 7, 1, 'llama3-8b').map((m) => ({
  ...m,
  adapter: { ...m.adapter, modules: m.adapter.modules.filter((x) => x.projection === projection) },
}));
const params = method === 'dare' ? { density: 0.5 } : method === 'della' ? { density: 0.5, epsilon: 0.1 } : { density: 0.9, gamma: 0.01 };
const beforeMb = statusMb('VmRSS');
const cpu = process.cpuUsage();
const t = performance.now();
await implementationOf(method as 'dare').build(members, params);
const used = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    method,
    projection,
    peak_mb: statusMb('VmHWM'),
    before_mb: beforeMb,
    members_mb: memberBytes(members) / 2 ** 20,
    seconds: (performance.now() - t) / 1000,
    cpu_seconds: (used.user + used.system) / 1e6,
  }),
);
