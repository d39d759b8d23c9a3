/** Everything a list endpoint holds, page after page: how the demo finds what an earlier run already made. */
import { type ApiClient, type Schemas, unwrap } from '../cli/api.ts';

interface Page<T> {
  data: T[];
  has_more: boolean;
  last_id: string | null;
}

async function all<T>(page: (after: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  for (let after: string | undefined; ; ) {
    const p = await page(after);
    out.push(...p.data);
    if (!p.has_more || !p.last_id) return out;
    after = p.last_id;
  }
}

const query = (after: string | undefined) => ({ params: { query: { limit: 100, after } } });

export const listJobs = (api: ApiClient): Promise<Schemas['FineTuningJob'][]> =>
  all(async (after) => unwrap(await api.GET('/v1/fine_tuning/jobs', query(after)), 'listing fine-tuning jobs'));

export const listMerges = (api: ApiClient): Promise<Schemas['Merge'][]> =>
  all(async (after) => unwrap(await api.GET('/v1/merges', query(after)), 'listing merges'));

export const listCompressions = (api: ApiClient): Promise<Schemas['Compression'][]> =>
  all(async (after) => unwrap(await api.GET('/v1/compressions', query(after)), 'listing compressions'));

/** A job's events, oldest first. */
export async function jobEvents(api: ApiClient, id: string): Promise<Schemas['FineTuningEvent'][]> {
  const events = await all(async (after) =>
    unwrap(
      await api.GET('/v1/fine_tuning/jobs/{id}/events', { params: { path: { id }, query: { limit: 100, after } } }),
      "reading the job's events",
    ),
  );
  return events.reverse();
}

/** A job's checkpoints, each with the losses at its step. */
export const jobCheckpoints = (api: ApiClient, id: string): Promise<Schemas['FineTuningCheckpoint'][]> =>
  all(async (after) =>
    unwrap(
      await api.GET('/v1/fine_tuning/jobs/{id}/checkpoints', { params: { path: { id }, query: { limit: 100, after } } }),
      "reading the job's checkpoints",
    ),
  );
