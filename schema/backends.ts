import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** A backend process, as it last reported itself. Fresh heartbeats make it eligible for inference routing. */
export const backends = sqliteTable('backends', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  capacity: integer('capacity').notNull(),
  inFlight: integer('in_flight').notNull(),
  loadedAdapters: text('loaded_adapters', { mode: 'json' }).notNull().$type<string[]>(),
  /** Milliseconds: freshness is judged in seconds, and two heartbeats may land within one. */
  lastHeartbeatAt: integer('last_heartbeat_at').notNull(),
  registeredAt: integer('registered_at').notNull(),
});
