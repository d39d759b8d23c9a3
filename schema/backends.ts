import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.ts';

/** A backend process, as it last reported itself. Fresh heartbeats make it eligible for inference routing. */
export const backends = sqliteTable('backends', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  capacity: integer('capacity').notNull(),
  inFlight: integer('in_flight').notNull(),
  loadedAdapters: text('loaded_adapters', { mode: 'json' }).notNull().$type<string[]>(),
  /** Milliseconds: freshness is judged in seconds, and two heartbeats may land within one. */
  lastHeartbeatAt: integer('last_heartbeat_at').notNull(),
  /** What the backend announced at its last heartbeat, new at each of its starts: the edge signs forwards for it. */
  bootId: text('boot_id'),
  registeredAt: integer('registered_at').notNull(),
});

/**
 * A backend's own credential, issued by the operator (POST /admin/v1/backends): only its SHA-256 is kept (the
 * token is 256-bit random, like API keys), and it is bound to one backend_id, the only one it may act as.
 * A backend may hold more than one at a time, so a credential can be rotated before the old one is revoked.
 */
export const backendCredentials = sqliteTable(
  'backend_credentials',
  {
    id: text('id').primaryKey(),
    backendId: text('backend_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** The first characters of the token, so a person can tell credentials apart. */
    prefix: text('prefix').notNull(),
    createdAt: createdAt(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [uniqueIndex('backend_credentials_hash').on(t.tokenHash), index('backend_credentials_backend').on(t.backendId)],
);
