import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { adapters } from './adapters.ts';
import { baseModels } from './base-models.ts';
import { MERGE_METHODS } from '../contracts/api/merge-methods.ts';
import type { MergeResult } from '../contracts/api/internal-api.ts';
import type { z } from 'zod';
import { backendJobColumns } from './columns.ts';
import { tenants } from './tenants.ts';

export const merges = sqliteTable(
  'merges',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    baseModelId: text('base_model_id')
      .notNull()
      .references(() => baseModels.id),
    name: text('name').notNull(),
    method: text('method', { enum: MERGE_METHODS }).notNull(),
    basisSize: integer('basis_size'),
    density: real('density'),
    /** The method's parameters that have no column of their own (contracts/api/merge-methods.ts declares them). */
    params: text('params', { mode: 'json' }).$type<Record<string, number>>(),
    /** What the backend measured when it finished (per-task error, storage); null until it succeeds. */
    result: text('result', { mode: 'json' }).$type<z.infer<typeof MergeResult>>(),
    /** The merged artifact goes under outputPrefix (for RMM: the shared basis and per-task coefficients). */
    ...backendJobColumns(),
  },
  (t) => [uniqueIndex('merges_tenant_name').on(t.tenantId, t.name), index('merges_claim').on(t.status, t.createdAt)],
);

export const mergeMembers = sqliteTable(
  'merge_members',
  {
    mergeId: text('merge_id')
      .notNull()
      .references(() => merges.id),
    adapterId: text('adapter_id')
      .notNull()
      .references(() => adapters.id),
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
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    mergeId: text('merge_id')
      .notNull()
      .references(() => merges.id),
    adapterId: text('adapter_id')
      .notNull()
      .references(() => adapters.id),
    name: text('name').notNull(),
    resultAdapterId: text('result_adapter_id').references(() => adapters.id),
    ...backendJobColumns(),
  },
  (t) => [index('merge_reverts_merge').on(t.mergeId), index('merge_reverts_claim').on(t.status, t.createdAt)],
);
