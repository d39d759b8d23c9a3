/**
 * A reversible merge as the server uses it, from its stored manifest and tensors: the mean model, each task as
 * an ordinary adapter, and (for methods whose declaration serves tasks through a shared basis) each task as a
 * task of that basis. The server never sees the merge's parts.
 */
import type { LoraAdapter } from '../../../contracts/formats/adapter.ts';
import type { Tensor } from '../../../contracts/formats/safetensors.ts';
import { taskIndex } from '../reversible-types.ts';
import type { SharedTask } from '../serving-form.ts';
import { reversibleImplementationOf } from './index.ts';

export interface ServedMerge {
  /** What `<base>:<merge>` serves. */
  mean(): Promise<LoraAdapter>;
  /** Task `id` rebuilt as an ordinary adapter. */
  task(id: string): Promise<LoraAdapter>;
  /** Task `id` as a task of the merge's shared basis; null where the method rebuilds tasks instead. */
  sharedTask(id: string): Promise<SharedTask | null>;
}

export function servedMerge(
  merge: { name: string; method: string },
  manifest: Record<string, unknown>,
  tensors: Map<string, Tensor>,
): ServedMerge {
  const method = reversibleImplementationOf(merge.method, merge.name);
  const decoded = method.decode(manifest, tensors);
  return {
    mean: () => method.mean(decoded),
    task: (id) => method.revert(decoded, id),
    sharedTask: async (id) =>
      method.declaration.servesTasksAs === 'shared_basis' && method.sharedBasis
        ? { basis: await method.sharedBasis(decoded), task: taskIndex(decoded.tasks, id) }
        : null,
  };
}
