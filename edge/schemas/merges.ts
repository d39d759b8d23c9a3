import { z } from '@hono/zod-openapi';
import { MERGE_METHODS, isReversibleMerge } from '../../contracts/api/jobs.ts';
import { MergeResult } from '../../contracts/api/internal-api.ts';
import { ARTIFACT_LAYOUTS } from '../../contracts/formats/job-artifacts.ts';
import { BACKEND_JOB_STATUSES } from '../../schema/index.ts';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { Name, NameOrId, listOf } from './common.ts';

/** Which optional parameters each method reads; any other one is refused rather than silently ignored. */
/** The most adapters one merge takes. */
export const MERGE_MAX_ADAPTERS = 32;

export const METHOD_PARAMS: Record<(typeof MERGE_METHODS)[number], ('basis_size' | 'weights' | 'density')[]> = {
  rmm_shared: ['basis_size', 'weights'],
  rmm_factor: ['basis_size', 'weights'],
  rmm_delta: ['basis_size', 'weights'],
  task_arithmetic: ['weights'],
  ties: ['weights', 'density'],
  dare: ['weights', 'density'],
  cat: ['weights'],
  svd: ['basis_size', 'weights'],
  linear: ['weights'],
};

export const CreateMergeRequest = z
  .strictObject({
    name: Name,
    base_model: NameOrId,
    adapters: z
      .array(NameOrId)
      .min(2)
      .max(MERGE_MAX_ADAPTERS)
      .openapi({ description: 'Names or ids of ready adapters of this base model.' }),
    method: z.enum(MERGE_METHODS),
    basis_size: z.number().int().min(1).max(4096).optional().openapi({
      description:
        "rmm_*: p, how many tasks' worth of shared basis to keep, at most the number of adapters (default: all of them, every task rebuilt exactly); svd: rank of the result, at most the members' ranks added up (default: the largest member rank).",
    }),
    weights: z.array(z.number().finite()).optional().openapi({ description: 'One per adapter, in order.' }),
    density: z.number().gt(0).max(1).optional().openapi({ description: 'ties/dare: fraction of entries kept.' }),
  })
  .superRefine((m, ctx) => {
    const allowed = METHOD_PARAMS[m.method];
    for (const p of ['basis_size', 'weights', 'density'] as const) {
      if (m[p] !== undefined && !allowed.includes(p)) {
        ctx.addIssue({
          code: 'custom',
          path: [p],
          message: `${p} does not apply to method "${m.method}" (it takes ${allowed.join(', ')})`,
        });
      }
    }
    if (m.weights && m.weights.length !== m.adapters.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['weights'],
        message: `give one weight per adapter (${m.adapters.length}), not ${m.weights.length}`,
      });
    }
    if (isReversibleMerge(m.method) && m.basis_size !== undefined && m.basis_size > m.adapters.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['basis_size'],
        message: `a basis of ${m.basis_size} tasks is larger than the ${m.adapters.length} adapters merged; give at most ${m.adapters.length}`,
      });
    }
    if (new Set(m.adapters).size !== m.adapters.length)
      ctx.addIssue({ code: 'custom', path: ['adapters'], message: 'list each adapter once' });
  })
  .openapi('CreateMergeRequest');

const BackendJobError = z.object({ code: z.string(), message: z.string() }).nullable();

export const Revert = z
  .object({
    id: z.string(),
    object: z.literal('merge.revert'),
    merge_id: z.string(),
    adapter: z.string().openapi({ description: 'The member task being reconstructed.' }),
    name: z.string().openapi({ description: 'Name the reconstructed adapter gets.' }),
    status: z.enum(BACKEND_JOB_STATUSES),
    error: BackendJobError,
    result_adapter_id: z.string().nullable(),
    created_at: UnixSeconds,
    finished_at: UnixSeconds.nullable(),
  })
  .openapi('Revert');

export const Merge = z
  .object({
    id: z.string(),
    object: z.literal('merge'),
    name: z.string(),
    base_model: z.string(),
    model: z
      .string()
      .nullable()
      .openapi({ description: 'What to pass as `model` once succeeded; `<model>/<adapter>` serves one member task reverted.' }),
    method: z.enum(MERGE_METHODS),
    basis_size: z.number().int().nullable(),
    density: z.number().nullable(),
    members: z.array(z.object({ adapter_id: z.string(), name: z.string(), weight: z.number().nullable() })),
    status: z.enum(BACKEND_JOB_STATUSES),
    error: BackendJobError,
    result: MergeResult.nullable().openapi({
      description: 'Once succeeded: per-task reconstruction error and storage, as the backend measured them.',
    }),
    reverts: z.array(Revert),
    created_at: UnixSeconds,
    finished_at: UnixSeconds.nullable(),
  })
  .openapi('Merge');

export const MergeList = listOf(Merge, 'MergeList');

export const MergeDownload = z
  .object({
    merge_id: z.string(),
    layout: z.enum(ARTIFACT_LAYOUTS).openapi({
      description:
        'peft_adapter: adapter_config.json and adapter_model.safetensors, a PEFT folder; reversible_basis: basis.json and basis.safetensors.',
    }),
    expires_at: UnixSeconds,
    files: z.array(z.object({ filename: z.string(), bytes: z.number().int(), url: z.string() })),
  })
  .openapi('MergeDownload');

export const CreateRevertRequest = z
  .strictObject({
    adapter: NameOrId.openapi({ description: 'Name or id of the member task to reconstruct.' }),
    name: Name.optional().openapi({ description: 'Name of the new adapter (default: "<merge>-<adapter>").' }),
  })
  .openapi('CreateRevertRequest');
