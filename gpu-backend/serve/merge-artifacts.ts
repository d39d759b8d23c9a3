/**
 * What a merge serves, from the artifact its job published (contracts/formats/job-artifacts.ts): a collapsed
 * merge is an ordinary PEFT adapter under `adapter/`; a reversible merge is a basis, from which the mean model
 * (`<base>:<merge>`) and each member task (`<base>:<merge>/<task>`) are rebuilt on demand, in milliseconds,
 * without a revert job. The edge routes a merge only once its job succeeded, i.e. once the artifact was checked.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { declarationOf, MERGE_METHODS, type MergeMethod } from '../../contracts/api/merge-methods.ts';
import type { RoutedTarget } from '../../contracts/api/routed-target.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { ADAPTER_DIR, BASIS_MANIFEST, BASIS_TENSORS } from '../../contracts/formats/job-artifacts.ts';
import { decodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { servedMerge, type ServedMerge } from '../lowrank/methods/served-merge.ts';
import type { FolderCache } from '../storage/folder-cache.ts';

type MergeRef = NonNullable<RoutedTarget['merge']>;

export function isReversible(merge: MergeRef): boolean {
  return (MERGE_METHODS as readonly string[]).includes(merge.method) && declarationOf(merge.method as MergeMethod).reversible;
}

/** Whether the merge's tasks run through its shared basis rather than rebuilt (the method's declaration says). */
export function servesTasksThroughBasis(merge: MergeRef): boolean {
  return isReversible(merge) && declarationOf(merge.method as MergeMethod).servesTasksAs === 'shared_basis';
}

/** Where a collapsed merge's PEFT adapter lies. */
export function collapsedAdapterRef(merge: MergeRef) {
  return { id: `merge:${merge.id}`, storage_prefix: merge.storage_prefix + ADAPTER_DIR };
}

/** A reversible merge's basis, fetched into the local cache and decoded. */
export async function loadBasis(folders: FolderCache, merge: MergeRef): Promise<ServedMerge> {
  if (!isReversible(merge))
    invalid('merge_not_reversible', `merge "${merge.name}" (${merge.method}) collapsed its members; it has no basis or tasks.`, 'model');
  const dir = await folders.fetch(merge.storage_prefix, (name) => name === BASIS_MANIFEST || name === BASIS_TENSORS);
  const [manifest, tensors] = await Promise.all([readFile(join(dir, BASIS_MANIFEST), 'utf8'), readFile(join(dir, BASIS_TENSORS))]);
  return servedMerge(merge, JSON.parse(manifest) as Record<string, unknown>, decodeSafetensors(new Uint8Array(tensors)).tensors);
}
