/**
 * sha256 of the artifact tensors (encodeReversibleMerge) of `rmm_factor` merges on the SmolLM2-135M shape (8 random
 * r16 adapters), p = 4 and p = n, and of one task reverted from each merge as built; to check a change keeps the
 * artifact byte for byte (`node --import tsx bench/published-hash.ts`).
 */
import { createHash } from 'node:crypto';
import { buildReversibleMerge, encodeReversibleMerge, reversibleReport, revertTask } from '../gpu-backend/lowrank/reversible.ts';
import { randomMembers } from './merge-random.ts';

const members = randomMembers(8, 16, 1);
for (const [construction, p] of [
  ['factor', 4],
  ['factor', 8],
  ['factor_svd', 4],
] as const) {
  if (construction === 'factor_svd' && process.argv[2] !== 'svd') continue;
  const merge = await buildReversibleMerge(members, { construction, basisSize: p });
  const hash = createHash('sha256');
  const { tensors } = encodeReversibleMerge(merge);
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    hash.update(name);
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  const reverted = createHash('sha256');
  for (const m of (await revertTask(merge, merge.tasks[3].name)).modules) {
    reverted.update(new Uint8Array(m.b.buffer, m.b.byteOffset, m.b.byteLength));
    reverted.update(new Uint8Array(m.a.buffer, m.a.byteOffset, m.a.byteLength));
  }
  const report = await reversibleReport(merge, members);
  const errors = report.tasks.map((t) => t.relativeError.toPrecision(12)).join(' ');
  console.log(
    `${construction} p=${p} artifact ${hash.digest('hex').slice(0, 16)} revert ${reverted.digest('hex').slice(0, 16)} errors ${errors}`,
  );
}
process.exit(0);
