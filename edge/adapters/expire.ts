/**
 * Uploads that outlived their URLs. Once `upload_expires_at` passes no presigned PUT can add to the upload
 * area, so whatever lies there (a PUT cut short, or nothing) is all there will ever be: the adapter becomes
 * `rejected` (`upload_expired`) and its objects are deleted, whether its commit comes late or never.
 */
import { and, asc, eq, lt } from 'drizzle-orm';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { adapters } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import { nowS } from '../ids.ts';
import { UPLOAD_URL_TTL_S } from './files.ts';

/** How many expired uploads one sweep handles; the next sweep takes the rest. */
export const EXPIRED_UPLOADS_PER_SWEEP = 50;

export const UPLOAD_EXPIRED_MESSAGE = `The upload was not committed within ${UPLOAD_URL_TTL_S} s of its creation, so its URLs expired and its files were deleted. Create a new adapter and upload the files again.`;

type Expirable = Pick<typeof adapters.$inferSelect, 'id' | 'storagePrefix'>;

/** Marks one upload expired (if it is still uploading) and deletes every object under its prefix. */
export async function expireUpload(db: Db, store: ObjectStore, a: Expirable): Promise<void> {
  await db
    .update(adapters)
    .set({ status: 'rejected', rejectionCode: 'upload_expired', rejectionMessage: UPLOAD_EXPIRED_MESSAGE, uploadExpiresAt: null })
    .where(and(eq(adapters.id, a.id), eq(adapters.status, 'uploading')));
  await store.deletePrefix(a.storagePrefix);
}

/** Expires the oldest uploads past their time, at most EXPIRED_UPLOADS_PER_SWEEP; returns how many. */
export async function expireUploads(db: Db, store: ObjectStore, now = nowS()): Promise<number> {
  const due = await db
    .select({ id: adapters.id, storagePrefix: adapters.storagePrefix })
    .from(adapters)
    .where(and(eq(adapters.status, 'uploading'), lt(adapters.uploadExpiresAt, now)))
    .orderBy(asc(adapters.uploadExpiresAt))
    .limit(EXPIRED_UPLOADS_PER_SWEEP);
  for (const a of due) await expireUpload(db, store, a);
  return due.length;
}
