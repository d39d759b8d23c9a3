/**
 * Jobs: work that backends do under a lease. Each kind is its own aggregate (table) with the same lease
 * columns, so claiming, renewing and failing are written once here for all of them.
 */
import type { JobKind } from '../../contracts/api/jobs.ts';
import { compressions, fineTuningJobs, mergeReverts, merges } from '../../schema/index.ts';

const JOB_TABLES = { fine_tuning: fineTuningJobs, merge: merges, compression: compressions, revert: mergeReverts } as const;

/**
 * A job table as the lease code sees it. The four tables share every column that code touches (status,
 * error, the lease columns, finishedAt, and resultAdapterId where a kind produces an adapter), but drizzle's
 * builders cannot be called on a union of tables, so they are seen through the fine-tuning table's type.
 */
export function jobTable(kind: JobKind): typeof fineTuningJobs {
  return JOB_TABLES[kind] as unknown as typeof fineTuningJobs;
}
