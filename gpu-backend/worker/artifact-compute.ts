/**
 * The algebra of a merge, revert or compression job, on inputs already fetched: a pure function from those to
 * the artifact's files and result, which artifact-thread.js runs off the backend's event loop.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import type { Member } from '../lowrank/members.ts';
import type { Built } from './artifact-job.ts';
import { compressionArtifact } from './compression.ts';
import type { CompressionSpec, MergeSpec, RevertSpec } from './edge-client.ts';
import { mergeArtifact } from './merge.ts';
import { revertArtifact } from './revert.ts';

export type ComputeInput =
  | { spec: MergeSpec; members: Member[] }
  | { spec: RevertSpec; manifestText: string; tensorBytes: Uint8Array }
  | { spec: CompressionSpec; source: LoraAdapter };

export async function computeArtifact(input: ComputeInput): Promise<Built> {
  if ('members' in input) return mergeArtifact(input.spec, input.members);
  if ('manifestText' in input) return revertArtifact(input.spec, input.manifestText, input.tensorBytes);
  return compressionArtifact(input.spec, input.source);
}
