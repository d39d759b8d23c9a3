/**
 * Adapter rows and their lifecycle: an upload is committed (copied out of reach of its upload URLs, then
 * verified) into `ready` or `rejected`; adapters that backends produce are verified and registered `ready`.
 */
import { and, eq, sql } from 'drizzle-orm';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { parseModelConfig } from '../../contracts/formats/hf-config.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { adapters, type AdapterSource, type baseModels } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import { newId, nowS } from '../ids.ts';
import { expireUpload, UPLOAD_EXPIRED_MESSAGE } from './expire.ts';
import { ADAPTER_FILES, committedKey, uploadKey } from './files.ts';
import { promoteStatements, versionedName } from './versions.ts';
import { MissingFilesError, verifyAdapter, type AdapterFacts } from './verify.ts';

export type AdapterRow = typeof adapters.$inferSelect;
type BaseRow = typeof baseModels.$inferSelect;

export function adapterObject(a: AdapterRow, baseName: string) {
  return {
    id: a.id,
    object: 'adapter' as const,
    name: a.name,
    version: a.version,
    current: a.current,
    base_model: baseName,
    model: a.status === 'ready' ? `${baseName}:${versionedName(a)}` : null,
    status: a.status,
    rejection: a.rejectionCode ? { code: a.rejectionCode, message: a.rejectionMessage ?? '' } : null,
    rank: a.rank,
    target_modules: a.targetModules,
    size_bytes: a.sizeBytes,
    sha256: a.sha256,
    source: a.source,
    source_id: a.sourceId,
    created_at: a.createdAt,
    ready_at: a.readyAt,
    pinned: a.pinnedAt !== null,
  };
}

/**
 * Commits an upload. Files are first copied to keys no upload URL points at, and the copies are verified, so
 * a client cannot swap a file between the check and its use. A missing file leaves the adapter `uploading`
 * (409); a file that fails the check makes it `rejected` with the reason (422).
 */
export async function commitUpload(db: Db, store: ObjectStore, adapter: AdapterRow, base: BaseRow): Promise<AdapterRow> {
  await refuseExpiredUpload(db, store, adapter);
  const prefix = adapter.storagePrefix;
  const uploaded = await Promise.all(ADAPTER_FILES.map((f) => store.head(uploadKey(prefix, f))));
  const missing = ADAPTER_FILES.filter((_, i) => !uploaded[i]);
  if (missing.length) {
    throw new ApiError(
      409,
      'upload_incomplete',
      `The upload is not finished: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not uploaded yet. PUT ${missing.length > 1 ? 'them' : 'it'} to the upload URL${missing.length > 1 ? 's' : ''}, then commit again.`,
      missing[0],
    );
  }
  await Promise.all(ADAPTER_FILES.map((f) => store.copy(uploadKey(prefix, f), committedKey(prefix, f))));
  try {
    const facts = await verifyAdapter(store, (f) => committedKey(prefix, f), parseModelConfig(base.configJson), adapter.declaredFiles);
    // A committed version is the one its name serves from now on; both writes hold only if it was still uploading.
    const stillUploading = sql`exists (select 1 from adapters where id = ${adapter.id} and status = 'uploading')`;
    const [unmark] = promoteStatements(db, adapter, stillUploading);
    const [, [ready]] = await db.batch([
      unmark,
      db
        .update(adapters)
        .set({
          status: 'ready',
          current: true,
          rank: facts.rank,
          targetModules: facts.targetModules,
          sizeBytes: facts.sizeBytes,
          sha256: facts.sha256,
          readyAt: nowS(),
          uploadExpiresAt: null,
        })
        .where(and(eq(adapters.id, adapter.id), eq(adapters.status, 'uploading')))
        .returning(),
    ]);
    await store.delete(ADAPTER_FILES.map((f) => uploadKey(prefix, f)));
    return ready ?? (await reread(db, adapter.id));
  } catch (err) {
    if (err instanceof MissingFilesError)
      throw new ApiError(
        409,
        'upload_incomplete',
        `The upload is not finished: ${err.missing.join(', ')} disappeared while committing; upload again, then commit.`,
      );
    if (!(err instanceof InvalidInputError)) throw err;
    await db
      .update(adapters)
      .set({ status: 'rejected', rejectionCode: err.code, rejectionMessage: err.message, uploadExpiresAt: null })
      .where(and(eq(adapters.id, adapter.id), eq(adapters.status, 'uploading')));
    await store.deletePrefix(prefix);
    throw new ApiError(422, err.code, `Adapter rejected: ${err.message}`, err.param ?? null);
  }
}

/** An upload past its time is expired now (rejected, its objects deleted) rather than at the next sweep: 409. */
export async function refuseExpiredUpload(db: Db, store: ObjectStore, adapter: AdapterRow): Promise<void> {
  if (adapter.uploadExpiresAt === null || adapter.uploadExpiresAt >= nowS()) return;
  await expireUpload(db, store, adapter);
  throw new ApiError(409, 'upload_expired', `Adapter "${adapter.name}": ${UPLOAD_EXPIRED_MESSAGE}`, 'id');
}

async function reread(db: Db, id: string): Promise<AdapterRow> {
  const [row] = await db.select().from(adapters).where(eq(adapters.id, id));
  return row;
}

/**
 * Checks an adapter a backend wrote under `prefix` (training, compression, revert) as strictly as an upload,
 * and returns the `ready` row for the caller to insert together with the job's completion. A failure throws
 * the check's InvalidInputError for the job to fail with.
 */
export async function verifyProducedAdapter(
  store: ObjectStore,
  opts: { tenantId: string; base: BaseRow; name: string; source: AdapterSource; sourceId: string; prefix: string },
): Promise<AdapterRow> {
  let facts: AdapterFacts;
  try {
    facts = await verifyAdapter(store, (f) => committedKey(opts.prefix, f), parseModelConfig(opts.base.configJson), null);
  } catch (err) {
    if (err instanceof MissingFilesError) {
      throw new InvalidInputError(
        'output_missing',
        `No ${err.missing.join(' or ')} under "${opts.prefix}"; write the PEFT files there before completing the job.`,
        'output_prefix',
      );
    }
    throw err;
  }
  const now = nowS();
  const row: AdapterRow = {
    id: newId('adapter'),
    tenantId: opts.tenantId,
    baseModelId: opts.base.id,
    name: opts.name,
    version: 1,
    current: true,
    status: 'ready',
    rejectionCode: null,
    rejectionMessage: null,
    rank: facts.rank,
    targetModules: facts.targetModules,
    sizeBytes: facts.sizeBytes,
    sha256: facts.sha256,
    source: opts.source,
    sourceId: opts.sourceId,
    storagePrefix: opts.prefix,
    declaredFiles: null,
    uploadExpiresAt: null,
    createdAt: now,
    readyAt: now,
    pinnedAt: null,
  };
  return row;
}
