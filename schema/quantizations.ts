import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { z } from 'zod';
import type { QuantizationResult } from '../contracts/api/internal-api.ts';
import { baseModels } from './base-models.ts';
import { backendJobColumns } from './columns.ts';
import { tenants } from './tenants.ts';

/** A base model's weights quantized once (int4/int8 MatMulNBits), stored under the job's output prefix and served as `<base>@int<bits>`. */
export const quantizations = sqliteTable(
  'quantizations',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    baseModelId: text('base_model_id')
      .notNull()
      .references(() => baseModels.id),
    bits: integer('bits').notNull(),
    groupSize: integer('group_size').notNull(),
    /** What the backend reported when it finished; null until it succeeds. */
    result: text('result', { mode: 'json' }).$type<z.infer<typeof QuantizationResult>>(),
    ...backendJobColumns(),
  },
  (t) => [
    index('quantizations_tenant').on(t.tenantId),
    index('quantizations_base').on(t.baseModelId, t.bits),
    index('quantizations_claim').on(t.status, t.createdAt),
  ],
);
