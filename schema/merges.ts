import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { adapters } from './adapters.ts';
import { baseModels } from './base-models.ts';
import { createdAt, leaseColumns } from './columns.ts';
import { tenants } from './tenants.ts';

export const MERGE_METHODS = ['rmm_factor', 'rmm_delta', 'task_arithmetic', 'ties', 'dare', 'cat', 'svd', 'linear'] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];
export const TASK_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskError {
  code: string;
  message: string;
}

export const merges = sqliteTable(
  'merges',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id),
    baseModelId: text('base_model_id').notNull().references(() => baseModels.id),
    name: text('name').notNull(),
    method: text('method', { enum: MERGE_METHODS }).notNull(),
    basisSize: integer('basis_size'),
    density: real('density'),
    status: text('status', { enum: TASK_STATUSES }).notNull(),
    error: text('error', { mode: 'json' }).$type<TaskError>(),
    /** Where the backend writes the merged artifact (for RMM: the shared basis and per-task coefficients). */
    outputPrefix: text('output_prefix').notNull(),
    ...leaseColumns(),
    createdAt: createdAt(),
    finishedAt: integer('finished_at'),
  },
  (t) => [uniqueIndex('merges_tenant_name').on(t.tenantId, t.name), index('merges_claim').on(t.status, t.createdAt)],
);

export const mergeMembers = sqliteTable(
  'merge_members',
  {
    mergeId: text('merge_id').notNull().references(() => merges.id),
    adapterId: text('adapter_id').notNull().references(() => adapters.id),
    position: integer('position').notNull(),
    weight: real('weight'),
  },
  (t) => [primaryKey({ columns: [t.mergeId, t.adapterId] })],
);

/** Materialising one member task of a merge as a standalone adapter, done by a backend. */
export const mergeReverts = sqliteTable(
  'merge_reverts',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id),
    mergeId: text('merge_id').notNull().references(() => merges.id),
    adapterId: text('adapter_id').notNull().references(() => adapters.id),
    name: text('name').notNull(),
    status: text('status', { enum: TASK_STATUSES }).notNull(),
    error: text('error', { mode: 'json' }).$type<TaskError>(),
    outputPrefix: text('output_prefix').notNull(),
    resultAdapterId: text('result_adapter_id').references(() => adapters.id),
    ...leaseColumns(),
    createdAt: createdAt(),
    finishedAt: integer('finished_at'),
  },
  (t) => [index('merge_reverts_merge').on(t.mergeId), index('merge_reverts_claim').on(t.status, t.createdAt)],
);
