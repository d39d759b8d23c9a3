import { integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.ts';
import { tenants } from './tenants.ts';

/** A Hugging Face checkpoint already in object storage under `storagePrefix`, with its checked config.json. */
export const baseModels = sqliteTable(
  'base_models',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    /** What `model` strings call it: `<name>` or `<name>:<adapter>`. */
    name: text('name').notNull(),
    storagePrefix: text('storage_prefix').notNull(),
    family: text('family').notNull(),
    numLayers: integer('num_layers').notNull(),
    hiddenSize: integer('hidden_size').notNull(),
    vocabSize: integer('vocab_size').notNull(),
    contextLength: integer('context_length').notNull(),
    /** config.json as read, so backends and the adapter check see the same config the edge accepted. */
    configJson: text('config_json', { mode: 'json' }).notNull().$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('base_models_tenant_name').on(t.tenantId, t.name)],
);
