/** A revert job: one member task rebuilt from a reversible merge's published basis, as a standalone PEFT adapter. */
import { invalid } from '../../contracts/formats/errors.ts';
import { BASIS_MANIFEST, BASIS_TENSORS } from '../../contracts/formats/job-artifacts.ts';
import { decodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { decodeReversibleMerge, revertTask } from '../lowrank/reversible.ts';
import type { Built } from './artifact-job.ts';
import type { RevertSpec } from './edge-client.ts';
import type { WorkerDeps } from './fine-tuning.ts';
import { peftAdapterFiles } from './merge.ts';

export async function buildRevert(spec: RevertSpec, deps: WorkerDeps): Promise<Built> {
  const prefix = spec.merge.storage_prefix;
  const [manifestText, tensorBytes] = await Promise.all([
    deps.store.getText(prefix + BASIS_MANIFEST),
    deps.store.getBytes(prefix + BASIS_TENSORS),
  ]);
  if (manifestText === null || tensorBytes === null)
    invalid(
      'merge_artifact_missing',
      `merge ${spec.merge.id} has no basis under "${prefix}" any more; build the merge again, then revert.`,
      'merge',
    );
  const merge = decodeReversibleMerge(JSON.parse(manifestText) as Record<string, unknown>, decodeSafetensors(tensorBytes).tensors);
  const adapter = revertTask(merge, spec.adapter.id);
  return {
    layout: 'peft_adapter',
    files: peftAdapterFiles(adapter),
    summary: `task ${spec.adapter.name} of merge ${spec.merge.id}, ${adapter.modules.length} modules`,
  };
}
