/** Every variant (base, adapters, merges, compressions) scored on each task's held-out examples. */
import type { ApiClient, Schemas } from '../cli/api.ts';
import { compressionModel, mergeModel, mergeTaskModel } from './artifacts.ts';
import { adapterName, HALF_RANK } from './artifact-step.ts';
import type { TaskData } from './datasets.ts';
import { accuracy } from './inference.ts';
import type { Variant } from './results.ts';
import { heading, say } from './say.ts';
import { BASE_MODEL, type TrainedAdapter } from './training.ts';

interface Built {
  adapters: TrainedAdapter[];
  merges: { reversible: { p: number; merge: Schemas['Merge'] }[]; ties: Schemas['Merge'] };
  compressions: { halfRank: Schemas['Compression']; int8: Schemas['Compression'] };
}

export async function evaluateVariants(api: ApiClient, data: TaskData[], { adapters, merges, compressions }: Built): Promise<Variant[]> {
  heading(`Evaluating every variant on ${data[0]?.heldOut.length} held-out examples per task (exact match, temperature 0)`);
  const variants: Variant[] = [];
  const evaluate = async (label: string, method: string, storage: number, modelFor: (i: number) => string | null) => {
    const acc: Record<string, number> = {};
    for (const [i, d] of data.entries()) {
      const model = modelFor(i);
      if (model) acc[d.slug] = await accuracy(api, model, d.heldOut);
    }
    variants.push({ label, method, storage, accuracy: acc });
    say(
      `${label}: ${Object.entries(acc)
        .map(([t, a]) => `${t} ${a.toFixed(2)}`)
        .join(', ')}`,
    );
  };
  await evaluate('base', 'base model', 0, () => BASE_MODEL);
  await evaluate('adapter', 'adapters', 1, (i) => adapters[i].model);
  for (const { p, merge: m } of merges.reversible)
    await evaluate(`rmm p=${p}`, 'rmm_shared', m.result?.storage_fraction ?? Number.NaN, (i) =>
      mergeTaskModel(m, adapterName(adapters[i])),
    );
  await evaluate('ties', 'ties', merges.ties.result?.storage_fraction ?? Number.NaN, () => mergeModel(merges.ties));
  await evaluate(`rank ${HALF_RANK}`, 'compression', compressions.halfRank.result?.storage_ratio ?? Number.NaN, (i) =>
    i === 0 ? compressionModel(compressions.halfRank) : null,
  );
  await evaluate('int8', 'compression', compressions.int8.result?.storage_ratio ?? Number.NaN, (i) =>
    i === 0 ? compressionModel(compressions.int8) : null,
  );

  return variants;
}
