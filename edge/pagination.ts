/**
 * Cursor pagination over time-ordered ids (see ids.ts): newest first, `after` is the last id already seen.
 * Queries fetch `limit + 1` rows so `has_more` needs no count.
 */
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from './db.ts';

export interface ListParams {
  after?: string;
  limit: number;
}

export function afterCursor(idColumn: SQLiteColumn, after: string | undefined): SQL | undefined {
  return after ? lt(idColumn, after) : undefined;
}

export function page<R extends { id: string }>(rows: R[], limit: number) {
  const kept = rows.slice(0, limit);
  return { object: 'list' as const, data: kept, has_more: rows.length > limit, last_id: kept.length ? kept[kept.length - 1].id : null };
}

/** One page of a tenant's rows of `table` (those `where` keeps), newest first. */
export async function tenantPage<T extends SQLiteTable & { id: SQLiteColumn; tenantId: SQLiteColumn }>(
  db: Db,
  table: T,
  tenantId: string,
  { after, limit }: ListParams,
  where?: SQL,
) {
  const rows = await db
    .select()
    .from(table as SQLiteTable)
    .where(and(eq(table.tenantId, tenantId), afterCursor(table.id, after), where))
    .orderBy(desc(table.id))
    .limit(limit + 1);
  return page(rows as (T['$inferSelect'] & { id: string })[], limit);
}
