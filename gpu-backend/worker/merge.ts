/**
 * A merge job: the members fetched and checked, the parameters checked against the method's declaration (the
 * same refusals, codes and messages as the edge), then the method's implementation (lowrank/methods/) builds
 * either one PEFT adapter (collapsed methods) or a reversible basis from which each task is rebuilt; the
 * per-task error and the storage are measured for the merge's API object.
 */
import { type GivenParams, MERGE_PARAM_NAMES, paramRefusals, rankRefusal } from '../../contracts/api/merge-methods.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { ADAPTER_DIR, BASIS_MANIFEST, BASIS_TENSORS } from '../../contracts/formats/job-artifacts.ts';
import { encodeSafetensors } from '../../contracts/formats/safetensors.ts';
import type { Member } from '../lowrank/members.ts';
import { implementationOf } from '../lowrank/methods/index.ts';
import { adapterFiles } from '../lowrank/peft-adapter.ts';
import { encodeReversibleMerge } from '../lowrank/reversible.ts';
import type { Built } from './artifact-job.ts';
import type { MergeSpec } from './edge-client.ts';
import { JobPhases } from './job-phases.ts';

export function peftAdapterFiles(adapter: Parameters<typeof adapterFiles>[0]): [string, Uint8Array][] {
  const { config, weights } = adapterFiles(adapter);
  // Weights first, config last: a folder with a config is one a reader tries to load.
  return [
    [`${ADAPTER_DIR}adapter_model.safetensors`, weights],
    [`${ADAPTER_DIR}adapter_config.json`, new TextEncoder().encode(config)],
  ];
}

/** The parameters a merge spec carries, named as the method declarations name them. */
export function specParams(spec: MergeSpec): GivenParams {
  const given: GivenParams = { ...spec.params };
  if (spec.basis_size !== null) given.basis_size = spec.basis_size;
  if (spec.density !== null) given.density = spec.density;
  if (spec.members.some((m) => m.weight !== null)) given.weights = spec.members.map((m) => m.weight ?? 1);
  for (const name of Object.keys(given))
    if (!MERGE_PARAM_NAMES.includes(name)) invalid('invalid_field', `${name} is no merge method's parameter.`, name);
  return given;
}

/** The merge of `members` (the spec's, loaded in its order): pure, so it runs on a worker thread. */
export async function mergeArtifact(spec: MergeSpec, members: Member[]): Promise<Built> {
  const names = new Map(spec.members.map((m) => [m.id, m.name]));
  const params = specParams(spec);
  const [refused] = paramRefusals(spec.method, params, members.length);
  if (refused) invalid(refused.code, refused.message, refused.param);
  const ranks = members.map((m) => ({ name: names.get(m.name) ?? m.name, rank: Math.max(0, ...m.adapter.modules.map((x) => x.rank)) }));
  const rankRefused = rankRefusal(spec.method, params, ranks);
  if (rankRefused) invalid(rankRefused.code, rankRefused.message, rankRefused.param);

  const phases = new JobPhases();
  const built = await implementationOf(spec.method).build(members, params);
  phases.mark('merge');
  const { report } = built;
  const result = {
    tasks: report.tasks.map((t) => ({ adapter_id: t.name, name: names.get(t.name) ?? t.name, relative_error: t.relativeError })),
    storage_fraction: report.storage,
    rank: report.rank,
  };
  const files = built.layout === 'peft_adapter' ? peftAdapterFiles(built.adapter) : basisFiles(built.merge);
  phases.mark('serialize');
  return { layout: built.layout, files, result, summary: report.summary, phases: phases.ms };
}

/** A reversible merge's artifact: its basis tensors and their manifest. */
function basisFiles(merge: Parameters<typeof encodeReversibleMerge>[0]): Built['files'] {
  const { manifest, tensors } = encodeReversibleMerge(merge);
  return [
    [BASIS_TENSORS, encodeSafetensors(tensors)],
    [BASIS_MANIFEST, new TextEncoder().encode(JSON.stringify(manifest))],
  ];
}
