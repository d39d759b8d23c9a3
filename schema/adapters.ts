import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { baseModels } from './base-models.ts';
import { createdAt } from './columns.ts';
import { tenants } from './tenants.ts';

export const ADAPTER_STATUSES = ['uploading', 'ready', 'rejected'] as const;
export type AdapterStatus = (typeof ADAPTER_STATUSES)[number];
export const ADAPTER_SOURCES = ['upload', 'training', 'merge', 'revert', 'compression'] as const;
export type AdapterSource = (typeof ADAPTER_SOURCES)[number];

/** What a client said it would upload; the commit holds the stored objects to it. */
export interface DeclaredFile {
  filename: string;
  bytes: number;
  sha256: string | null;
}

/**
 * One row per version of a named adapter: uploading to a name that exists (or finishing a fine-tuning job whose
 * suffix is that name) adds a row with the next `version`, its own id and its own storage prefix, which never
 * change, so a request (or a backend's cache) that holds a version keeps exactly those files. `current` marks the
 * version the bare name serves: the newest committed one, or the one promoted since.
 */
export const adapters = sqliteTable(
  'adapters',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    baseModelId: text('base_model_id')
      .notNull()
      .references(() => baseModels.id),
    name: text('name').notNull(),
    /** 1, 2, … per (tenant, name), in the order the versions were created; `<name>@v<version>` calls one. */
    version: integer('version').notNull().default(1),
    /** Whether the bare name serves this version: one row per (tenant, name), moved by commits and promotes. */
    current: integer('current', { mode: 'boolean' }).notNull().default(true),
    status: text('status', { enum: ADAPTER_STATUSES }).notNull(),
    /** Why an adapter was rejected: a stable code and a message that says what to change. */
    rejectionCode: text('rejection_code'),
    rejectionMessage: text('rejection_message'),
    rank: integer('rank'),
    targetModules: text('target_modules', { mode: 'json' }).$type<string[]>(),
    sizeBytes: integer('size_bytes'),
    sha256: text('sha256'),
    source: text('source', { enum: ADAPTER_SOURCES }).notNull(),
    /** The job, merge or compression that produced it (null for uploads). */
    sourceId: text('source_id'),
    /** Where the committed PEFT files live; uploads land beside it and are copied in on commit. */
    storagePrefix: text('storage_prefix').notNull(),
    declaredFiles: text('declared_files', { mode: 'json' }).$type<DeclaredFile[]>(),
    uploadExpiresAt: integer('upload_expires_at'),
    createdAt: createdAt(),
    readyAt: integer('ready_at'),
    /** When the tenant pinned it (POST /v1/adapters/{id}/pin): kept loaded on its backend; null when not pinned. */
    pinnedAt: integer('pinned_at'),
  },
  (t) => [
    uniqueIndex('adapters_tenant_name_version').on(t.tenantId, t.name, t.version),
    uniqueIndex('adapters_tenant_name_current').on(t.tenantId, t.name).where(sql`${t.current} = 1`),
    index('adapters_base').on(t.baseModelId),
    // The sweep of expired uploads (edge/adapters/expire.ts).
    index('adapters_upload_expiry').on(t.status, t.uploadExpiresAt),
    // Every heartbeat answer lists the pins (edge/adapters/pins.ts).
    index('adapters_pinned').on(t.pinnedAt),
  ],
);
