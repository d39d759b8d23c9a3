/**
 * One Llama-3-8B-shape merge of 8 random r=16 adapters, alone in a fresh process, so that its peak RSS is the
 * merge's and not that of a bench process that has loaded models and run other merges before. Prints one JSON line:
 * the process's peak RSS (VmHWM, so no sample can miss it), its RSS once the members were built (node, onnxruntime
 * and the members), the members' bytes, their dense delta values (Σ out·in), and the merge's wall and CPU seconds.
 * Run by merge-peak.ts as `node --import tsx bench/merge-peak-child.ts <rmm_shared|ties> <layers>`.
 */
import { mergeCollapsed } from '../gpu-backend/lowrank/merge-collapsed.ts';
import { buildReversibleMerge } from '../gpu-backend/lowrank/reversible.ts';
import { randomMembers } from './merge-random.ts';
import { memberBytes } from './merge-scale.ts';
import { selfStatusMb as statusMb } from './proc-stats.ts';

const [kind, layers] = [process.argv[2], Number(process.argv[3])];
if ((kind !== 'rmm_shared' && kind !== 'ties') || !(layers >= 1)) throw new Error('usage: merge-peak-child.ts <rmm_shared|ties> <layers>');
const members = randomMembers(8, 16, 7, layers, 'llama3-8b');
const beforeMb = statusMb('VmRSS');
const cpu = process.cpuUsage();
const t = performance.now();
if (kind === 'ties') await mergeCollapsed(members, { method: 'ties', density: 0.5 });
else await buildReversibleMerge(members, { construction: 'shared', basisSize: 4 });
const seconds = (performance.now() - t) / 1000;
const used = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    peak_mb: statusMb('VmHWM'),
    before_mb: beforeMb,
    members_mb: memberBytes(members) / 2 ** 20,
    member_values: members.reduce((n, m) => n + m.adapter.modules.reduce((v, x) => v + x.out * x.in, 0), 0),
    seconds,
    cpu_seconds: (used.user + used.system) / 1e6,
  }),
);
