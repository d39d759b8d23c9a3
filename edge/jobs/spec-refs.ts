/** The pieces of job specs that several kinds share: references to a base model, adapters and a merge's members. */
import { asc, eq } from 'drizzle-orm';
import { adapters, baseModels, mergeMembers } from '../../schema/index.ts';
import type { Db } from '../db.ts';

type AdapterRow = typeof adapters.$inferSelect;

export function adapterRef(a: AdapterRow) {
  return { id: a.id, name: a.name, storage_prefix: a.storagePrefix, rank: a.rank };
}

export async function baseRef(db: Db, id: string) {
  const [b] = await db.select().from(baseModels).where(eq(baseModels.id, id));
  return { id: b.id, name: b.name, storage_prefix: b.storagePrefix, config: b.configJson };
}

export async function adapterById(db: Db, id: string) {
  const [a] = await db.select().from(adapters).where(eq(adapters.id, id));
  return a;
}

export async function mergeMembersOf(db: Db, mergeId: string) {
  const rows = await db
    .select({ adapter: adapters, weight: mergeMembers.weight })
    .from(mergeMembers)
    .innerJoin(adapters, eq(adapters.id, mergeMembers.adapterId))
    .where(eq(mergeMembers.mergeId, mergeId))
    .orderBy(asc(mergeMembers.position));
  return rows.map((r) => ({ ...adapterRef(r.adapter), weight: r.weight }));
}

/** The lease part of every spec. */
export function leaseRef(row: { id: string; attempts: number; leaseExpiresAt: number | null; outputPrefix: string }) {
  return { id: row.id, attempt: row.attempts, lease_expires_at: row.leaseExpiresAt, output_prefix: row.outputPrefix };
}
