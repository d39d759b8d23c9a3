/**
 * One kind of job, declared once (edge/jobs/kinds/<kind>.ts): its table, what a backend is told to do
 * (`spec`), and how a reported result is checked and recorded (`complete`). The lease machinery (lease.ts) and
 * the routes work on any kind through the registry (kinds.ts).
 */
import type { z } from 'zod';
import type { JobSpec } from '../../contracts/api/internal-api.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import type { fineTuningJobs } from '../../schema/index.ts';
import type { Db } from '../db.ts';

export interface Completion {
  trainedTokens?: number;
  result?: unknown;
}

export interface CompletionContext {
  db: Db;
  store: ObjectStore;
  id: string;
  backendId: string;
  done: Completion;
}

/**
 * A job table as the lease code sees it. Every kind's table shares the columns that code touches (status,
 * error, the lease columns, finishedAt; schema/columns.ts), but drizzle's builders cannot be called on a union
 * of tables, so each is seen through the fine-tuning table's type.
 */
export type JobTable = typeof fineTuningJobs;

export interface JobKindDefinition<K extends JobKind = JobKind> {
  kind: K;
  table: JobTable;
  /** What a backend needs to do the job, in the contract's shape for this kind (null: no such job). */
  spec(db: Db, id: string): Promise<Extract<z.input<typeof JobSpec>, { kind: K }> | null>;
  /**
   * Checks the job's output and records it as succeeded. Output that fails its check fails the job (422,
   * rejectOutput); a job lost meanwhile answers 409 (lostMeanwhile). The job is held and running when called.
   */
  complete(ctx: CompletionContext): Promise<void>;
}

/** The fine-tuning table's type for a kind's own table (see JobTable). */
export const asJobTable = (table: unknown): JobTable => table as JobTable;
