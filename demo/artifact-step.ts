/** The tour's merges (reversible at each basis size, and TIES, each task called through them) and compressions. */
import { createHash } from 'node:crypto';
import type { ApiClient } from '../cli/api.ts';
import { compress, merge, mergeModel, mergeTaskModel } from './artifacts.ts';
import type { TaskData } from './datasets.ts';
import { complete } from './inference.ts';
import { listCompressions, listMerges } from './listing.ts';
import { heading, say } from './say.ts';
import { LORA } from './sizes.ts';
import type { TrainedAdapter } from './training.ts';

/** Reversible merges at these basis sizes (p, in adapters' worth): below the four adapters. */
const BASIS_SIZES = [1, 2];
export const HALF_RANK = LORA.lora_r / 2;

export const adapterName = (a: TrainedAdapter) => a.model.slice(a.model.indexOf(':') + 1);

export async function buildMerges(api: ApiClient, adapters: TrainedAdapter[], data: TaskData[]) {
  heading('Merges: reversible (rmm_shared, one shared basis per module) and TIES');
  const existing = await listMerges(api);
  const members = adapters.map(adapterName);
  // Named after their members too: other adapters (--quick, or retrained after a failed run) get merges of their own.
  const tag = createHash('sha256').update(members.join('\n')).digest('hex').slice(0, 6);
  const reversible = [];
  for (const p of BASIS_SIZES) {
    const m = await merge(api, { name: `demo-shared-p${p}-${tag}`, adapters: members, method: 'rmm_shared', basis_size: p }, existing);
    say(
      `${m.name}: storage ${m.result?.storage_fraction.toFixed(3)} of the ${members.length} adapters; per-task error ${m.result?.tasks.map((t) => t.relative_error.toFixed(3)).join(', ')}`,
    );
    reversible.push({ p, merge: m });
  }
  const ties = await merge(api, { name: `demo-ties-${tag}`, adapters: members, method: 'ties' }, existing);
  say(
    `${ties.name}: storage ${ties.result?.storage_fraction.toFixed(3)}, rank ${ties.result?.rank}; per-task error ${ties.result?.tasks.map((t) => t.relative_error.toFixed(3)).join(', ')}`,
  );
  say('Each task through the merges:');
  const last = reversible.at(-1)!.merge;
  for (const [i, a] of adapters.entries()) {
    const example = data[i].heldOut[0];
    const viaRmm = await complete(api, mergeTaskModel(last, adapterName(a)), example.prompt);
    const viaTies = await complete(api, mergeModel(ties), example.prompt);
    say(
      `  ${JSON.stringify(example.prompt.trimEnd())}: ${mergeTaskModel(last, adapterName(a))} -> ${JSON.stringify(viaRmm)}; ${mergeModel(ties)} -> ${JSON.stringify(viaTies)}; expected ${JSON.stringify(example.completion)}`,
    );
  }
  return { reversible, ties };
}

export async function buildCompressions(api: ApiClient, adapter: TrainedAdapter) {
  heading(`Compressions of ${adapterName(adapter)}: half rank (${HALF_RANK}) and int8`);
  const existing = await listCompressions(api);
  const name = adapterName(adapter);
  const halfRank = await compress(api, { adapter: name, name: `${name}-r${HALF_RANK}`, rank: HALF_RANK, bits: 16 }, existing);
  const int8 = await compress(api, { adapter: name, name: `${name}-int8`, bits: 8 }, existing);
  for (const c of [halfRank, int8])
    say(
      `${c.name}: ${c.result?.bytes_before} -> ${c.result?.bytes_after} bytes (${c.result?.storage_ratio.toFixed(3)}), error ${c.result?.relative_error.toFixed(4)}`,
    );
  return { halfRank, int8 };
}
