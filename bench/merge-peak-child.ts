/**
 * One Llama-3-8B-shape merge of 8 random r=16 adapters, alone in a fresh process, so that its peak RSS is the
 * merge's and not that of a bench process that has loaded models and run other merges before. Prints one JSON line:
 * the process's peak RSS (VmHWM, so no sample can miss it), its RSS once the members were built (node, onnxruntime
 * and the members), the members' bytes, their dense delta values (Σ out·in), and the merge's wall and CPU seconds.
 * Run by merge-peak.ts as `node --import tsx bench/merge-peak-child.ts <rmm_shared|ties|ties-each> <layers>`.
 * `ties-each` merges each of the layers on its own, one after another in this process, and prints each one's wall and
 * CPU seconds (arrays) with the peak RSS after the first (one layer's): the first pays what a process pays once (the
 * TIES thread's start and JIT, its first fresh merged buffers), the later ones what every further layer costs.
 */
import { mergeCollapsed } from '../gpu-backend/lowrank/merge-collapsed.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { buildReversibleMerge } from '../gpu-backend/lowrank/reversible.ts';
import { randomMembers } from './merge-random.ts';
import { memberBytes } from './merge-scale.ts';
import { selfStatusMb as statusMb } from './proc-stats.ts';

const [kind, layers] = [process.argv[2], Number(process.argv[3])];
if ((kind !== 'rmm_shared' && kind !== 'ties' && kind !== 'ties-each') || !(layers >= 1))
  throw new Error('usage: merge-peak-child.ts <rmm_shared|ties|ties-each> <layers>');
const values = (ms: Member[]) => ms.reduce((n, m) => n + m.adapter.modules.reduce((v, x) => v + x.out * x.in, 0), 0);
// ties-each builds each layer's members just before its merge (the first's seeds are the one-layer run's), so that the
// first layer's peak holds one layer's members, as a one-layer run's does.
const membersOf = (layer: number, count: number): Member[] => randomMembers(8, 16, 7 + 8 * layer, count, 'llama3-8b');
const members = kind === 'ties-each' ? membersOf(0, 1) : membersOf(0, layers);
const beforeMb = statusMb('VmRSS');

async function timed(merge: () => Promise<unknown>): Promise<{ seconds: number; cpu_seconds: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await merge();
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpu_seconds: (used.user + used.system) / 1e6 };
}

if (kind === 'ties-each') {
  const runs: { seconds: number; cpu_seconds: number }[] = [];
  let firstPeakMb = 0;
  for (let layer = 0; layer < layers; layer++) {
    const own = layer === 0 ? members : membersOf(layer, 1);
    runs.push(await timed(() => mergeCollapsed(own, { method: 'ties', density: 0.5 })));
    if (layer === 0) firstPeakMb = statusMb('VmHWM');
  }
  const first = members;
  console.log(
    JSON.stringify({
      peak_mb: firstPeakMb,
      peak_all_mb: statusMb('VmHWM'),
      before_mb: beforeMb,
      members_mb: memberBytes(first) / 2 ** 20,
      member_values: values(first),
      seconds: runs.map((r) => r.seconds),
      cpu_seconds: runs.map((r) => r.cpu_seconds),
    }),
  );
} else {
  const run = await timed(() =>
    kind === 'ties'
      ? mergeCollapsed(members, { method: 'ties', density: 0.5 })
      : buildReversibleMerge(members, { construction: 'shared', basisSize: 4 }),
  );
  console.log(
    JSON.stringify({
      peak_mb: statusMb('VmHWM'),
      before_mb: beforeMb,
      members_mb: memberBytes(members) / 2 ** 20,
      member_values: values(members),
      ...run,
    }),
  );
}
