import { z } from '@hono/zod-openapi';
import { MERGE_METHODS, MERGE_PARAM_NAMES, declarationOf, paramDoc, paramOf, paramRefusals } from '../../contracts/api/merge-methods.ts';
import { MergeResult } from '../../contracts/api/internal-api.ts';
import { ARTIFACT_LAYOUTS } from '../../contracts/formats/job-artifacts.ts';
import { BACKEND_JOB_STATUSES } from '../../schema/index.ts';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { Name, NameOrId, listOf } from './common.ts';

/** The most adapters one merge takes. */
export const MERGE_MAX_ADAPTERS = 32;

/** Each parameter any method reads, as one optional field, its schema and meaning taken from the methods' declarations. */
const paramFields = Object.fromEntries(
  MERGE_PARAM_NAMES.map((name) => {
    return [
      name,
      paramOf(name)
        .schema.optional()
        .openapi({ description: paramDoc(name) }),
    ];
  }),
) as {
  basis_size: z.ZodOptional<z.ZodNumber>;
  weights: z.ZodOptional<z.ZodArray<z.ZodNumber>>;
  density: z.ZodOptional<z.ZodNumber>;
} & Record<string, z.ZodOptional<z.ZodType<number | number[]>>>;

export const CreateMergeRequest = z
  .strictObject({
    name: Name,
    base_model: NameOrId,
    adapters: z.array(NameOrId).min(2).max(MERGE_MAX_ADAPTERS).openapi({
      description: 'Names or ids of ready adapters of this base model; `<name>@v<n>` picks a version, a bare name the one it serves.',
    }),
    method: z.enum(MERGE_METHODS).openapi({
      description: MERGE_METHODS.map((m) => `${m}: ${declarationOf(m).summary}`).join('; '),
    }),
    ...paramFields,
  })
  .superRefine((m, ctx) => {
    // A parameter the method does not read is refused with why, never dropped.
    const params = Object.fromEntries(
      MERGE_PARAM_NAMES.map((p) => [p, (m as Record<string, unknown>)[p] as number | number[] | undefined]),
    );
    for (const r of paramRefusals(m.method, params, m.adapters.length))
      ctx.addIssue({ code: 'custom', path: r.param.split('.'), message: r.message, params: { code: r.code } });
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
    params: z.record(z.string(), z.number()).openapi({
      description: 'Every parameter the merge was given but its weights (those are on members), basis_size and density included.',
    }),
    members: z
      .array(
        z.object({
          adapter_id: z.string(),
          name: z.string(),
          version: z.number().int().openapi({ description: 'The version of the adapter the merge was built from; it keeps it.' }),
          model: z.string().openapi({ description: 'That version alone, as a model id (`<base>:<name>@v<n>`).' }),
          weight: z.number().nullable(),
        }),
      )
      .openapi({ description: 'The adapter versions the merge was built from, in order.' }),
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
