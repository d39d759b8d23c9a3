/**
 * Leases: a backend claims the oldest claimable job of a kind in one UPDATE (so two backends never get the
 * same one), keeps it by renewing before the lease runs out, and loses it when the lease expires: the job is
 * then claimable again, and the next claim resumes from the last checkpoint.
 */
import { and, asc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import { nowS } from '../ids.ts';
import type { fineTuningJobs } from '../../schema/index.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';
import { jobTable } from './kinds.ts';

/** The columns every job starts with (schema/columns.ts): queued, unleased, never claimed, writing under `outputPrefix`. */
export function queuedJob(outputPrefix: string) {
  return {
    status: 'queued' as const,
    error: null,
    outputPrefix,
    leaseOwner: null,
    leaseExpiresAt: null,
    attempts: 0,
    createdAt: nowS(),
    finishedAt: null,
  };
}

function claimable(t: ReturnType<typeof jobTable>, now: number) {
  return or(eq(t.status, 'queued'), and(eq(t.status, 'running'), lt(t.leaseExpiresAt, now)));
}

/** Claims the oldest claimable job of `kind` for `backendId`; null when there is none. */
export async function claimNext(
  db: Db,
  kind: JobKind,
  backendId: string,
  leaseS: number,
): Promise<{ id: string; attempts: number } | null> {
  const t = jobTable(kind);
  const now = nowS();
  const oldest = db.select({ id: t.id }).from(t).where(claimable(t, now)).orderBy(asc(t.createdAt), asc(t.id)).limit(1);
  // The outer condition repeats the inner one: the row must still be claimable when this UPDATE writes it.
  const [row] = await db
    .update(t)
    .set({ status: 'running', leaseOwner: backendId, leaseExpiresAt: now + leaseS, attempts: sql`${t.attempts} + 1` })
    .where(and(inArray(t.id, oldest), claimable(t, now)))
    .returning({ id: t.id, attempts: t.attempts });
  return row ?? null;
}

export type LeasedRow = Pick<typeof fineTuningJobs.$inferSelect, 'id' | 'tenantId' | 'status' | 'leaseOwner' | 'leaseExpiresAt'>;

/**
 * The job as its lease holder may touch it. Another backend's lease answers 409 (without naming the holder)
 * so the caller stops work it no longer owns; a cancelled fine-tuning job is returned as it is, so the caller learns of the cancel.
 */
export async function heldJob(db: Db, kind: JobKind, id: string, backendId: string): Promise<LeasedRow> {
  const t = jobTable(kind);
  const [row] = await db.select().from(t).where(eq(t.id, id));
  if (!row) throw new ApiError(404, 'task_not_found', `No ${kind} job "${id}".`, 'id');
  if (row.leaseOwner !== backendId) {
    // Who holds it instead is none of this backend's business (and naming them invited impersonation).
    throw new ApiError(
      409,
      'lease_lost',
      `This backend no longer holds the lease on ${kind} job ${id}; stop working on it (its lease expired and it was claimed again, or it finished).`,
      'id',
    );
  }
  if (row.status !== 'running' && row.status !== 'cancelled') {
    throw new ApiError(409, 'task_finished', `The ${kind} job ${id} is already ${row.status}; nothing more to report.`, 'id');
  }
  return row;
}

/**
 * Checks that `backendId` holds or last held the job (its lease owner stays set once it finishes). Any other
 * backend is told it does not exist: a job's spec carries the tenant's storage keys.
 */
export async function assertHolder(db: Db, kind: JobKind, id: string, backendId: string): Promise<void> {
  const t = jobTable(kind);
  const [row] = await db.select({ leaseOwner: t.leaseOwner }).from(t).where(eq(t.id, id));
  if (row?.leaseOwner !== backendId)
    throw new ApiError(
      404,
      'task_not_found',
      `No ${kind} job "${id}" that this backend holds or held; a backend reads only its own tasks.`,
      'id',
    );
}

/** The row of a job this backend still holds, running: every write a lease allows goes through this condition. */
export function stillHeld(kind: JobKind, id: string, backendId: string) {
  const t = jobTable(kind);
  return and(eq(t.id, id), eq(t.leaseOwner, backendId), eq(t.status, 'running'));
}

export function jobState(kind: JobKind, row: LeasedRow) {
  return { id: row.id, kind, status: row.status, lease_expires_at: row.leaseExpiresAt, cancel_requested: row.status === 'cancelled' };
}

export async function renewLease(db: Db, kind: JobKind, id: string, backendId: string, leaseS: number) {
  const row = await heldJob(db, kind, id, backendId);
  if (row.status !== 'running') return jobState(kind, row);
  const t = jobTable(kind);
  const expires = nowS() + leaseS;
  await db
    .update(t)
    .set({ leaseExpiresAt: expires })
    .where(stillHeld(kind, id, backendId));
  return jobState(kind, { ...row, leaseExpiresAt: expires });
}

/** Ends a job as failed with the backend's reason; the lease is released. */
export async function failJob(db: Db, kind: JobKind, id: string, backendId: string, error: { code: string; message: string }) {
  const row = await heldJob(db, kind, id, backendId);
  if (row.status !== 'running') return jobState(kind, row);
  const t = jobTable(kind);
  await db
    .update(t)
    .set({ status: 'failed', error: { ...error, param: null }, finishedAt: nowS(), leaseExpiresAt: null })
    .where(stillHeld(kind, id, backendId));
  return jobState(kind, { ...row, status: 'failed', leaseExpiresAt: null });
}
