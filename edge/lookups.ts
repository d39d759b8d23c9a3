/**
 * Finding a tenant's objects by id (or by name, where users name things). Every lookup is scoped to the
 * tenant, so another tenant's object reads as missing: a 404, never its data.
 */
import { and, desc, eq, or } from 'drizzle-orm';
import { adapters, baseModels, compressions, files, fineTuningJobs, mergeMembers, merges } from '../schema/index.ts';
import { adapterRefWhere, parseAdapterRef } from './adapters/versions.ts';
import type { Db } from './db.ts';
import { notFound } from './errors.ts';

export async function findBaseModel(db: Db, tenantId: string, ref: string, param = 'id') {
  const [row] = await db
    .select()
    .from(baseModels)
    .where(and(eq(baseModels.tenantId, tenantId), or(eq(baseModels.id, ref), eq(baseModels.name, ref))))
    .limit(1);
  if (!row) throw notFound('base model', ref, param, 'GET /v1/base-models');
  return row;
}

/** An adapter version by id, by `name@v<n>`, or by bare name: the version that name serves. */
export async function findAdapter(db: Db, tenantId: string, ref: string, param = 'id') {
  const [row] = await db
    .select()
    .from(adapters)
    .where(adapterRefWhere(tenantId, ref, param))
    .limit(1);
  if (!row) throw notFound('adapter', ref, param, 'GET /v1/adapters');
  return row;
}

export async function findFile(db: Db, tenantId: string, id: string, param = 'id') {
  const [row] = await db
    .select()
    .from(files)
    .where(and(eq(files.tenantId, tenantId), eq(files.id, id)))
    .limit(1);
  if (!row) throw notFound('file', id, param, 'GET /v1/files');
  return row;
}

export async function findJob(db: Db, tenantId: string, id: string) {
  const [row] = await db
    .select()
    .from(fineTuningJobs)
    .where(and(eq(fineTuningJobs.tenantId, tenantId), eq(fineTuningJobs.id, id)))
    .limit(1);
  if (!row) throw notFound('fine-tuning job', id, 'id', 'GET /v1/fine_tuning/jobs');
  return row;
}

export async function findMerge(db: Db, tenantId: string, ref: string, param = 'id') {
  const [row] = await db
    .select()
    .from(merges)
    .where(and(eq(merges.tenantId, tenantId), or(eq(merges.id, ref), eq(merges.name, ref))))
    .limit(1);
  if (!row) throw notFound('merge', ref, param, 'GET /v1/merges');
  return row;
}

export async function findCompression(db: Db, tenantId: string, id: string) {
  const [row] = await db
    .select()
    .from(compressions)
    .where(and(eq(compressions.tenantId, tenantId), eq(compressions.id, id)))
    .limit(1);
  if (!row) throw notFound('compression', id, 'id', 'GET /v1/compressions');
  return row;
}

/**
 * Adapters and merges share one namespace per tenant, because `<base>:<name>` may call either; returns the
 * id of whichever already has `name`.
 */
export async function servableNameOwner(db: Db, tenantId: string, name: string): Promise<string | null> {
  const [a] = await db
    .select({ id: adapters.id })
    .from(adapters)
    .where(and(eq(adapters.tenantId, tenantId), eq(adapters.name, name)))
    .limit(1);
  if (a) return a.id;
  const [m] = await db
    .select({ id: merges.id })
    .from(merges)
    .where(and(eq(merges.tenantId, tenantId), eq(merges.name, name)))
    .limit(1);
  return m?.id ?? null;
}

/**
 * The member of a merge that `ref` names: by id, `name@v<n>`, or bare name. A merge keeps the versions it was built
 * from, so a bare name means its member of that name (the newest, should it hold two versions), not the version
 * the name serves today.
 */
export async function findMemberTask(db: Db, mergeId: string, ref: string, param = 'model') {
  const { name, version } = parseAdapterRef(ref, param);
  const [member] = await db
    .select({ adapter: adapters })
    .from(mergeMembers)
    .innerJoin(adapters, eq(adapters.id, mergeMembers.adapterId))
    .where(
      and(
        eq(mergeMembers.mergeId, mergeId),
        version === null ? or(eq(adapters.id, ref), eq(adapters.name, ref)) : and(eq(adapters.name, name), eq(adapters.version, version)),
      ),
    )
    .orderBy(desc(adapters.version))
    .limit(1);
  return member?.adapter ?? null;
}
