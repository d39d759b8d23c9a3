import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.ts';
import { tenants } from './tenants.ts';

/** A JSONL training or validation set, stored only after every line passed the trainer's own parser. */
export const files = sqliteTable(
  'files',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    filename: text('filename').notNull(),
    purpose: text('purpose', { enum: ['fine-tune'] }).notNull(),
    bytes: integer('bytes').notNull(),
    examples: integer('examples').notNull(),
    storageKey: text('storage_key').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('files_tenant').on(t.tenantId)],
);
