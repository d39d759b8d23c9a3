import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { Hyperparameters } from '../contracts/api/hyperparameters.ts';
import { adapters } from './adapters.ts';
import { baseModels } from './base-models.ts';
import { createdAt, leaseColumns } from './columns.ts';
import { files } from './files.ts';
import { tenants } from './tenants.ts';

export const JOB_STATUSES = ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobError {
  code: string;
  message: string;
  param: string | null;
}

export const fineTuningJobs = sqliteTable(
  'fine_tuning_jobs',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    baseModelId: text('base_model_id')
      .notNull()
      .references(() => baseModels.id),
    trainingFileId: text('training_file_id')
      .notNull()
      .references(() => files.id),
    validationFileId: text('validation_file_id').references(() => files.id),
    hyperparameters: text('hyperparameters', { mode: 'json' }).notNull().$type<Hyperparameters>(),
    suffix: text('suffix'),
    seed: integer('seed').notNull(),
    status: text('status', { enum: JOB_STATUSES }).notNull(),
    error: text('error', { mode: 'json' }).$type<JobError>(),
    /** Where the backend writes checkpoints and the finished adapter. */
    outputPrefix: text('output_prefix').notNull(),
    resultAdapterId: text('result_adapter_id').references(() => adapters.id),
    trainedTokens: integer('trained_tokens'),
    idempotencyKey: text('idempotency_key'),
    /** SHA-256 of the creating request, so a reused Idempotency-Key with another body is refused. */
    requestHash: text('request_hash'),
    ...leaseColumns(),
    createdAt: createdAt(),
    finishedAt: integer('finished_at'),
  },
  (t) => [
    index('fine_tuning_jobs_tenant').on(t.tenantId),
    index('fine_tuning_jobs_claim').on(t.status, t.createdAt),
    uniqueIndex('fine_tuning_jobs_idempotency').on(t.tenantId, t.idempotencyKey),
  ],
);

export const jobEvents = sqliteTable(
  'fine_tuning_events',
  {
    /** Monotonic, so `after` paginates and events read in the order they happened. */
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    jobId: text('job_id')
      .notNull()
      .references(() => fineTuningJobs.id),
    level: text('level', { enum: ['info', 'warn', 'error'] }).notNull(),
    type: text('type', { enum: ['message', 'metrics'] }).notNull(),
    message: text('message').notNull(),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [index('fine_tuning_events_job').on(t.jobId, t.seq)],
);

export const jobCheckpoints = sqliteTable(
  'fine_tuning_checkpoints',
  {
    id: text('id').primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => fineTuningJobs.id),
    step: integer('step').notNull(),
    trainLoss: real('train_loss'),
    validLoss: real('valid_loss'),
    storagePrefix: text('storage_prefix').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('fine_tuning_checkpoints_step').on(t.jobId, t.step)],
);
