/**
 * `rankgate merges create|revert`, `rankgate compress` and `rankgate quantize`: each queues work on a backend; the command prints
 * the API's answer (the queued object) or its error, and does not wait for the backend.
 */
import { type ApiClient, type Schemas, unwrap } from '../api.ts';
import { printJson } from '../output.ts';
import { MERGE_PARAM_NAMES } from '../../contracts/api/merge-methods.ts';

/** The command line's options: --base, --method and one per merge parameter (camelCased by commander: basisSize). */
export interface CreateMergeOptions {
  base: string;
  method: Schemas['CreateMergeRequest']['method'];
  [param: string]: unknown;
}

export async function createMerge(api: ApiClient, name: string, adapters: string[], opts: CreateMergeOptions): Promise<void> {
  const merge = unwrap(
    await api.POST('/v1/merges', {
      body: {
        name,
        base_model: opts.base,
        adapters,
        method: opts.method,
        ...Object.fromEntries(MERGE_PARAM_NAMES.map((p) => [p, opts[p.replace(/_(.)/g, (_, c: string) => c.toUpperCase())]])),
      },
    }),
    'creating the merge',
  );
  printJson(merge);
}

export async function revertTask(api: ApiClient, merge: string, task: string, opts: { name?: string }): Promise<void> {
  const revert = unwrap(
    await api.POST('/v1/merges/{id}/revert', { params: { path: { id: merge } }, body: { adapter: task, name: opts.name } }),
    'reverting the task',
  );
  printJson(revert);
}

export interface CompressOptions {
  name?: string;
  rank?: number;
  energy?: number;
  budgetBytes?: number;
  bits?: number;
}

export async function compressAdapter(api: ApiClient, adapter: string, opts: CompressOptions): Promise<void> {
  const compression = unwrap(
    await api.POST('/v1/compressions', {
      body: { adapter, name: opts.name, rank: opts.rank, energy: opts.energy, budget_bytes: opts.budgetBytes, bits: opts.bits },
    }),
    'compressing the adapter',
  );
  printJson(compression);
}

export async function quantizeBase(api: ApiClient, base: string, opts: { bits: number; groupSize?: number }): Promise<void> {
  const quantization = unwrap(
    await api.POST('/v1/base-models/{id}/quantizations', {
      params: { path: { id: base } },
      body: { bits: opts.bits, group_size: opts.groupSize },
    }),
    'quantizing the base model',
  );
  printJson(quantization);
}

/** One quantization of `base`, or all of them (newest first). */
export async function showQuantizations(api: ApiClient, base: string, id?: string): Promise<void> {
  const shown = id
    ? unwrap(
        await api.GET('/v1/base-models/{id}/quantizations/{quantization_id}', { params: { path: { id: base, quantization_id: id } } }),
        'getting the quantization',
      )
    : unwrap(await api.GET('/v1/base-models/{id}/quantizations', { params: { path: { id: base } } }), 'listing the quantizations');
  printJson(shown);
}
