/**
 * A backend reports a job done. Results are checked before anything is recorded (each kind's `complete`,
 * edge/jobs/kinds/): a produced adapter passes the same verification as an upload; artifacts must have been
 * published under their manifest (written last, listing every file with its size and hash). A job whose output
 * fails the check is marked failed with the reason.
 */
import type { JobKind } from '../../contracts/api/jobs.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import type { Completion } from './kind.ts';
import { jobKind } from './kinds.ts';
import { heldJob, jobState } from './lease.ts';

export type { Completion } from './kind.ts';

export async function completeJob(db: Db, store: ObjectStore, kind: JobKind, id: string, backendId: string, done: Completion = {}) {
  const held = await heldJob(db, kind, id, backendId);
  if (held.status === 'cancelled')
    throw new ApiError(409, 'task_cancelled', `The ${kind} job ${id} was cancelled; discard its results.`, 'id');
  await jobKind(kind).complete({ db, store, id, backendId, done });
  return jobState(kind, { ...held, status: 'succeeded', leaseExpiresAt: null });
}
