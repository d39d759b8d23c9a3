/**
 * Column groups more than one aggregate shares. Times are unix seconds, as in OpenAI objects.
 */
import { integer, text } from 'drizzle-orm/sqlite-core';

export const createdAt = () => integer('created_at').notNull();

/**
 * Work a backend does under a lease (fine-tuning, merges, compressions, reverts): who holds it, until when,
 * and how many times it was claimed. A lease that runs out makes the work claimable again.
 */
export const leaseColumns = () => ({
  leaseOwner: text('lease_owner'),
  leaseExpiresAt: integer('lease_expires_at'),
  attempts: integer('attempts').notNull().default(0),
});

export const BACKEND_JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type BackendJobStatus = (typeof BACKEND_JOB_STATUSES)[number];

export interface BackendJobError {
  code: string;
  message: string;
}

/** The lifecycle of a merge, compression or revert: queued, leased by a backend, then succeeded or failed. */
export const backendJobColumns = () => ({
  status: text('status', { enum: BACKEND_JOB_STATUSES }).notNull(),
  error: text('error', { mode: 'json' }).$type<BackendJobError>(),
  /** Where the backend writes the result. */
  outputPrefix: text('output_prefix').notNull(),
  ...leaseColumns(),
  createdAt: createdAt(),
  finishedAt: integer('finished_at'),
});
