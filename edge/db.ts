import { drizzle } from 'drizzle-orm/d1';
import * as schema from '../schema/index.ts';

export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Db = ReturnType<typeof createDb>;

/** D1 binds at most this many parameters in one statement; a multi-row insert past it fails. */
export const D1_MAX_BOUND_PARAMETERS = 100;

/** `rows` split into groups that each fit one INSERT of `columns` bound values per row. */
export function insertChunks<T>(rows: T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(D1_MAX_BOUND_PARAMETERS / columns));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}
