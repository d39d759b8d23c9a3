import { z } from '@hono/zod-openapi';
import { JOB_STATUSES } from '../../schema/index.ts';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { Hyperparameters } from '../../contracts/api/hyperparameters.ts';
import { listOf, NameOrId } from './common.ts';

export const CreateJobRequest = z
  .strictObject({
    model: NameOrId.openapi({ description: 'Name or id of the base model to train an adapter for.' }),
    training_file: NameOrId,
    validation_file: NameOrId.optional(),
    hyperparameters: Hyperparameters.prefault({}),
    suffix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,40}$/, 'must be 1-40 letters, digits, ".", "_" or "-"')
      .optional()
      .openapi({
        description:
          'Names the adapter `<suffix>-<job id>`; a suffix that is the name of one of your adapters of this base trains its next version instead, which that name serves once the job succeeds.',
      }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
  })
  .openapi('CreateFineTuningJobRequest');

export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Retrying with the same key and body returns the same job instead of a new one.' }),
});

const ErrorObject = z.object({ code: z.string(), message: z.string(), param: z.string().nullable() });

export const FineTuningJob = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job'),
    created_at: UnixSeconds,
    finished_at: UnixSeconds.nullable(),
    model: z.string(),
    fine_tuned_model: z.string().nullable(),
    organization_id: z.string(),
    status: z.enum(JOB_STATUSES),
    error: ErrorObject.nullable(),
    hyperparameters: Hyperparameters,
    training_file: z.string(),
    validation_file: z.string().nullable(),
    result_files: z.array(z.string()),
    trained_tokens: z.number().int().nullable(),
    seed: z.number().int(),
    suffix: z.string().nullable(),
    adapter_id: z.string().nullable().openapi({ description: 'The trained adapter, once succeeded.' }),
  })
  .openapi('FineTuningJob');

export const FineTuningJobList = listOf(FineTuningJob, 'FineTuningJobList');

export const FineTuningEvent = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job.event'),
    created_at: UnixSeconds,
    level: z.enum(['info', 'warn', 'error']),
    type: z.enum(['message', 'metrics']),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('FineTuningEvent');

export const FineTuningEventList = listOf(FineTuningEvent, 'FineTuningEventList');

export const FineTuningCheckpoint = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job.checkpoint'),
    created_at: UnixSeconds,
    fine_tuning_job_id: z.string(),
    step_number: z.number().int(),
    metrics: z.object({ step: z.number().int(), train_loss: z.number().nullable(), valid_loss: z.number().nullable() }),
    fine_tuned_model_checkpoint: z.string().openapi({ description: 'Where the checkpoint is stored in the bucket.' }),
  })
  .openapi('FineTuningCheckpoint');

export const FineTuningCheckpointList = listOf(FineTuningCheckpoint, 'FineTuningCheckpointList');
