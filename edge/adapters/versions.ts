/**
 * Versions of a named adapter. Each version is its own adapters row (own id, own storage prefix, never rewritten),
 * so whatever holds a version (a request in flight, a backend's cache keyed by adapter id, a merge's members)
 * keeps exactly those files; the bare name follows the row marked `current`, which commits and promotes move.
 */
import { and, eq, ne, sql, type SQL } from 'drizzle-orm';
import { adapters } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';

/** `<name>@v<n>`: names cannot hold "@", so a "@" only ever starts a version. */
export interface AdapterRef {
  name: string;
  version: number | null;
}

/** Splits `acronym@v2` into its name and version (null: the version the name serves); a bad suffix is a 400. */
export function parseAdapterRef(ref: string, param: string | null = 'model'): AdapterRef {
  const at = ref.indexOf('@');
  if (at < 0) return { name: ref, version: null };
  const digits = /^v([1-9]\d{0,8})$/.exec(ref.slice(at + 1))?.[1];
  if (!digits)
    throw new ApiError(
      400,
      'invalid_adapter_version',
      `"${ref}" names a version as "${ref.slice(at + 1)}"; pin one as "${ref.slice(0, at)}@v<n>" (e.g. "${ref.slice(0, at)}@v1"), or leave "@…" out for the version the name serves.`,
      param,
    );
  return { name: ref.slice(0, at), version: Number(digits) };
}

/** The rows `ref` may mean, by id, pinned `name@v<n>`, or bare name (the current version). */
export function adapterRefWhere(tenantId: string, ref: string, param: string | null = 'model'): SQL {
  const { name, version } = parseAdapterRef(ref, param);
  if (version !== null) return and(eq(adapters.tenantId, tenantId), eq(adapters.name, name), eq(adapters.version, version))!;
  return and(eq(adapters.tenantId, tenantId), sql`(${adapters.id} = ${ref} or (${adapters.name} = ${ref} and ${adapters.current} = 1))`)!;
}

/** Whether `row` is what `ref` means (the in-memory twin of adapterRefWhere, for rows already read). */
export function matchesAdapterRef(row: { id: string; name: string; version: number; current: boolean }, ref: string): boolean {
  const { name, version } = parseAdapterRef(ref, 'adapters');
  if (version !== null) return row.name === name && row.version === version;
  return row.id === ref || (row.name === ref && row.current);
}

/**
 * The next version number of (tenant, name), computed inside the INSERT, so two uploads to one name at once get
 * 1 and 2 rather than both 1 (D1 runs statements one at a time).
 */
export function nextVersionSql(tenantId: string, name: string): SQL<number> {
  return sql<number>`(select coalesce(max(version), 0) + 1 from adapters where tenant_id = ${tenantId} and name = ${name})`;
}

/** True for the first row of a name: a new name serves its first version at once (a 409 until it is ready). */
export function firstOfNameSql(tenantId: string, name: string): SQL<boolean> {
  return sql<boolean>`not exists (select 1 from adapters where tenant_id = ${tenantId} and name = ${name})`;
}

/**
 * The statements that make `id` the version its name serves, for one `db.batch` (a transaction): the old
 * current row is unmarked first, so the one-current-per-name index never sees two. `onlyIf` guards both.
 */
export function promoteStatements(db: Db, row: { id: string; tenantId: string; name: string }, onlyIf?: SQL) {
  return [
    db
      .update(adapters)
      .set({ current: false })
      .where(
        and(eq(adapters.tenantId, row.tenantId), eq(adapters.name, row.name), eq(adapters.current, true), ne(adapters.id, row.id), onlyIf),
      ),
    db
      .update(adapters)
      .set({ current: true })
      .where(and(eq(adapters.id, row.id), onlyIf)),
  ] as const;
}

/**
 * After the current version of a name is deleted, the name serves its newest ready version left (or, with none
 * ready, its newest); a name with no version left is gone.
 */
export function repointStatement(db: Db, tenantId: string, name: string) {
  return db
    .update(adapters)
    .set({ current: true })
    .where(
      and(
        sql`${adapters.id} = (select id from adapters where tenant_id = ${tenantId} and name = ${name} order by status = 'ready' desc, version desc limit 1)`,
        sql`not exists (select 1 from adapters where tenant_id = ${tenantId} and name = ${name} and current = 1)`,
      ),
    );
}

/** The model id that calls exactly this version: the bare name while it is current, else `name@v<n>`. */
export function versionedName(a: { name: string; version: number; current: boolean }): string {
  return a.current ? a.name : `${a.name}@v${a.version}`;
}
