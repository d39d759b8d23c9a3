/** The adapters a merge or compression reads, fetched through the folder cache and checked against the base. */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { parseModelConfig, type ModelConfig } from '../../contracts/formats/hf-config.ts';
import { readAdapterFolder } from '../formats/files.ts';
import type { Member } from '../lowrank/members.ts';
import { ADAPTER_FILES, type FolderCache } from '../storage/folder-cache.ts';
import type { Spec } from './edge-client.ts';
import type { JobPhases } from './job-phases.ts';

type AdapterRef = { id: string; name: string; storage_prefix: string };

export function baseConfig(spec: Spec): ModelConfig {
  return parseModelConfig(spec.base_model.config);
}

export async function loadAdapter(folders: FolderCache, ref: AdapterRef, model: ModelConfig): Promise<LoraAdapter> {
  return readAdapterFolder(await folders.fetch(ref.storage_prefix, ADAPTER_FILES), model);
}

/**
 * Members named by adapter id: ids never change, so a merge's tasks stay findable whatever the adapters are called.
 * All are downloaded at once, then parsed: a download waits on the store, and one after another they took 5.9 s
 * of a 1B merge job's 28 (bench merge-job).
 */
export async function loadMembers(folders: FolderCache, spec: Spec, refs: AdapterRef[], phases?: JobPhases): Promise<Member[]> {
  const model = baseConfig(spec);
  const dirs = await Promise.all(refs.map((ref) => folders.fetch(ref.storage_prefix, ADAPTER_FILES)));
  phases?.mark('fetch');
  const members = await Promise.all(
    refs.map(async (ref, i) => ({ name: ref.id, baseModel: spec.base_model.name, adapter: await readAdapterFolder(dirs[i], model) })),
  );
  phases?.mark('parse');
  return members;
}
