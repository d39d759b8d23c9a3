import { getTableColumns } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from '../schema/index.ts';

export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Db = ReturnType<typeof createDb>;

/** D1 binds at most this many parameters in one statement; a multi-row insert past it fails. */
export const D1_MAX_BOUND_PARAMETERS = 100;

/**
 * The INSERTs of `rows` into `table`, each small enough for D1's bound-parameter limit, to run in one
 * `db.batch` (one round trip, all or nothing). Every multi-row insert goes through here: a row binds at most one
 * parameter per column of its table, whatever columns it sets.
 */
export function insertChunks<T extends SQLiteTable>(db: Db, table: T, rows: T['$inferInsert'][]) {
  const size = Math.max(1, Math.floor(D1_MAX_BOUND_PARAMETERS / Object.keys(getTableColumns(table)).length));
  const inserts = [];
  for (let i = 0; i < rows.length; i += size) inserts.push(db.insert(table).values(rows.slice(i, i + size)));
  return inserts;
}
