/**
 * Cursor pagination over time-ordered ids (see ids.ts): newest first, `after` is the last id already seen.
 * Queries fetch `limit + 1` rows so `has_more` needs no count.
 */
import { lt, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';

export function afterCursor(idColumn: SQLiteColumn, after: string | undefined): SQL | undefined {
  return after ? lt(idColumn, after) : undefined;
}

export function page<R extends { id: string }, O>(rows: R[], limit: number, toObject: (r: R) => O) {
  const has_more = rows.length > limit;
  const kept = rows.slice(0, limit);
  return { object: 'list' as const, data: kept.map(toObject), has_more, last_id: kept.length ? kept[kept.length - 1].id : null };
}
