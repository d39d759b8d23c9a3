import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { adapters } from './adapters.ts';
import { backendJobColumns } from './columns.ts';
import { tenants } from './tenants.ts';
import type { CompressionResult } from '../contracts/api/internal-api.ts';
import type { z } from 'zod';

/** Truncated SVD (to a rank, a kept energy fraction or a byte budget) plus group-wise quantization. */
export const compressions = sqliteTable(
  'compressions',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    sourceAdapterId: text('source_adapter_id')
      .notNull()
      .references(() => adapters.id),
    name: text('name').notNull(),
    rank: integer('rank'),
    energy: real('energy'),
    budgetBytes: integer('budget_bytes'),
    bits: integer('bits').notNull(),
    /** What the backend measured when it finished (per-module error and rank, bytes); null until it succeeds. */
    result: text('result', { mode: 'json' }).$type<z.infer<typeof CompressionResult>>(),
    resultAdapterId: text('result_adapter_id').references(() => adapters.id),
    ...backendJobColumns(),
  },
  (t) => [index('compressions_tenant').on(t.tenantId), index('compressions_claim').on(t.status, t.createdAt)],
);
