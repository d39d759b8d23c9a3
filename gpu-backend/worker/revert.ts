/** A revert job: one member task rebuilt from a reversible merge's published basis, as a standalone PEFT adapter. */
import { invalid } from '../../contracts/formats/errors.ts';
import { BASIS_MANIFEST, BASIS_TENSORS } from '../../contracts/formats/job-artifacts.ts';
import { decodeSafetensors } from '../../contracts/formats/safetensors.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { reversibleImplementationOf } from '../lowrank/methods/index.ts';
import type { Built } from './artifact-job.ts';
import type { RevertSpec } from './edge-client.ts';
import { peftAdapterFiles } from './merge.ts';

/** The merge's published basis: its manifest and tensor file, as stored. */
export async function loadBasis(store: ObjectStore, spec: RevertSpec): Promise<{ manifestText: string; tensorBytes: Uint8Array }> {
  const prefix = spec.merge.storage_prefix;
  const [manifestText, tensorBytes] = await Promise.all([store.getText(prefix + BASIS_MANIFEST), store.getBytes(prefix + BASIS_TENSORS)]);
  if (manifestText === null || tensorBytes === null)
    invalid(
      'merge_artifact_missing',
      `merge ${spec.merge.id} has no basis under "${prefix}" any more; build the merge again, then revert.`,
      'merge',
    );
  return { manifestText, tensorBytes };
}

/** The task rebuilt from the basis: pure, so it runs on a worker thread. */
export async function revertArtifact(spec: RevertSpec, manifestText: string, tensorBytes: Uint8Array): Promise<Built> {
  const method = reversibleImplementationOf(spec.merge.method, spec.merge.id);
  const merge = method.decode(JSON.parse(manifestText) as Record<string, unknown>, decodeSafetensors(tensorBytes).tensors);
  const adapter = await method.revert(merge, spec.adapter.id);
  return {
    layout: 'peft_adapter',
    files: peftAdapterFiles(adapter),
    summary: `task ${spec.adapter.name} of merge ${spec.merge.id}, ${adapter.modules.length} modules`,
  };
}
