/** What a backend needs to do a job: every input's place in the bucket, the parameters, where to write (each kind's `spec`). */
import type { JobKind } from '../../contracts/api/jobs.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import { jobKind } from './kinds.ts';

export async function jobSpec(db: Db, kind: JobKind, id: string) {
  const spec = await jobKind(kind).spec(db, id);
  if (!spec) throw new ApiError(404, 'task_not_found', `No ${kind} job "${id}".`, 'id');
  return spec;
}
