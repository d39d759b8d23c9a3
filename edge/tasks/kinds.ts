/**
 * Work that backends do under a lease. Each kind is its own aggregate (table) with the same lease columns,
 * so claiming, renewing and failing are written once here for all of them.
 */
import { compressions, fineTuningJobs, mergeReverts, merges } from '../../schema/index.ts';

export const TASK_KINDS = ['fine_tuning', 'merge', 'compression', 'revert'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const TASK_TABLES = { fine_tuning: fineTuningJobs, merge: merges, compression: compressions, revert: mergeReverts } as const;

export type TaskTable = (typeof TASK_TABLES)[TaskKind];
