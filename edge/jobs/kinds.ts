/**
 * The job kinds: work that backends do under a lease, each declared once in edge/jobs/kinds/<kind>.ts behind
 * one interface (kind.ts). Claiming, renewing, failing, specs and completion go through this registry.
 */
import type { JobKind } from '../../contracts/api/jobs.ts';
import type { JobKindDefinition, JobTable } from './kind.ts';
import { compressionKind } from './kinds/compression.ts';
import { fineTuningKind } from './kinds/fine-tuning.ts';
import { mergeKind } from './kinds/merge.ts';
import { quantizationKind } from './kinds/quantization.ts';
import { revertKind } from './kinds/revert.ts';

export const JOB_KIND_DEFINITIONS: { [K in JobKind]: JobKindDefinition<K> } = {
  fine_tuning: fineTuningKind,
  merge: mergeKind,
  compression: compressionKind,
  revert: revertKind,
  quantization: quantizationKind,
};

export function jobKind<K extends JobKind>(kind: K): JobKindDefinition<K> {
  return JOB_KIND_DEFINITIONS[kind];
}

export function jobTable(kind: JobKind): JobTable {
  return JOB_KIND_DEFINITIONS[kind].table;
}
