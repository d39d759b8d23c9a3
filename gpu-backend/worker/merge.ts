/**
 * A merge job: the members fetched and checked, then either collapsed into one PEFT adapter (cat, linear, svd,
 * task_arithmetic, ties, dare) or kept as a reversible basis (rmm_factor, rmm_delta) from which each task is
 * rebuilt; the per-task error and the storage are measured for the merge's API object.
 */
import { isReversibleMerge, type REVERSIBLE_MERGE_METHODS, reversibleBasisSize, type MergeMethod } from '../../contracts/api/jobs.ts';
import { ADAPTER_DIR, BASIS_MANIFEST, BASIS_TENSORS } from '../../contracts/formats/job-artifacts.ts';
import { encodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { mergeCollapsed, type CollapsedMethod } from '../lowrank/merge-collapsed.ts';
import { adapterFiles } from '../lowrank/peft-adapter.ts';
import { buildReversibleMerge, encodeReversibleMerge, reversibleReport, type Construction } from '../lowrank/reversible.ts';
import type { Member } from '../lowrank/members.ts';
import type { Built } from './artifact-job.ts';
import type { MergeSpec } from './edge-client.ts';
import { adapterFloats } from './stored-adapters.ts';

/** The construction behind each reversible method. */
const CONSTRUCTION: Record<(typeof REVERSIBLE_MERGE_METHODS)[number], Construction> = {
  rmm_shared: 'shared',
  rmm_factor: 'factor',
  rmm_delta: 'delta',
};

export function peftAdapterFiles(adapter: Parameters<typeof adapterFiles>[0]): [string, Uint8Array][] {
  const { config, weights } = adapterFiles(adapter);
  // Weights first, config last: a folder with a config is one a reader tries to load.
  return [
    [`${ADAPTER_DIR}adapter_model.safetensors`, weights],
    [`${ADAPTER_DIR}adapter_config.json`, new TextEncoder().encode(config)],
  ];
}

/** The merge of `members` (the spec's, loaded in its order): pure, so it runs on a worker thread. */
export function mergeArtifact(spec: MergeSpec, members: Member[]): Built {
  const names = new Map(spec.members.map((m) => [m.id, m.name]));
  const task = (t: { name: string; relativeError: number }) => ({
    adapter_id: t.name,
    name: names.get(t.name) ?? t.name,
    relative_error: t.relativeError,
  });
  const method: MergeMethod = spec.method;
  if (isReversibleMerge(method)) {
    const merge = buildReversibleMerge(members, {
      construction: CONSTRUCTION[method],
      basisSize: reversibleBasisSize(spec.basis_size, members.length),
    });
    const report = reversibleReport(merge, members);
    const { manifest, tensors } = encodeReversibleMerge(merge);
    return {
      layout: 'reversible_basis',
      files: [
        [BASIS_TENSORS, encodeSafetensors(tensors)],
        [BASIS_MANIFEST, new TextEncoder().encode(JSON.stringify(manifest))],
      ],
      result: { tasks: report.tasks.map(task), storage_fraction: report.storage, rank: null },
      summary: `${method}, p = ${merge.basisSize}, storage ${report.storage.toFixed(3)}`,
    };
  }
  const weights = spec.members.some((m) => m.weight !== null) ? spec.members.map((m) => m.weight ?? 1) : undefined;
  const { adapter, report } = mergeCollapsed(members, {
    method: method as CollapsedMethod,
    weights,
    ...(spec.basis_size !== null ? { rank: spec.basis_size } : {}),
    ...(spec.density !== null ? { density: spec.density } : {}),
  });
  const storage = adapterFloats(adapter) / members.reduce((n, m) => n + adapterFloats(m.adapter), 0);
  return {
    layout: 'peft_adapter',
    files: peftAdapterFiles(adapter),
    result: { tasks: report.tasks.map(task), storage_fraction: storage, rank: report.rank },
    summary: `${method}, rank ${report.rank}`,
  };
}
