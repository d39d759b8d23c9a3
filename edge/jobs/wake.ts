/**
 * Waking backends when a job is queued, so an idle one claims it within milliseconds instead of at its next poll.
 * A push beats a long-poll claim here: D1 tells nobody of a new row, so a held claim request would have to
 * re-query D1 in a loop for its whole wait, a Worker invocation per idle backend held open for seconds; the
 * push is one signed POST per fresh backend, sent after the answer (waitUntil). Best-effort: a backend that
 * misses it still finds the job at its next poll, and the claim's single UPDATE (lease.ts) gives each job to one.
 */
import { desc, gte } from 'drizzle-orm';
import type { Context } from 'hono';
import { JOB_WAKE_MAX_BACKENDS, JOB_WAKE_PATH } from '../../contracts/api/jobs.ts';
import { backends } from '../../schema/index.ts';
import { signerFor } from '../auth/edge-signer.ts';
import type { Db } from '../db.ts';
import type { AppEnv, Env } from '../env.ts';
import { heartbeatTtlS } from '../routes/internal.ts';
import { pushToBackend } from './backend-push.ts';

/** Wakes the freshest backends; resolves to how many took the wake. */
export async function wakeBackends(db: Db, env: Env): Promise<number> {
  const signer = signerFor(env.EDGE_SIGNING_KEY);
  if (!signer) return 0;
  const fresh = await db
    .select({ id: backends.id, url: backends.url, bootId: backends.bootId })
    .from(backends)
    .where(gte(backends.lastHeartbeatAt, Date.now() - heartbeatTtlS(env) * 1000))
    .orderBy(desc(backends.lastHeartbeatAt))
    .limit(JOB_WAKE_MAX_BACKENDS);
  const taken = await Promise.all(fresh.map((b) => pushToBackend(signer, b, JOB_WAKE_PATH)));
  return taken.filter(Boolean).length;
}

/** Called by every route that queues a job, once the row is written: the wake runs after the answer is sent. */
export function wakeAfterQueueing(c: Context<AppEnv>): void {
  const woken = wakeBackends(c.var.db, c.env).catch(() => 0);
  try {
    c.executionCtx.waitUntil(woken);
  } catch {
    // No execution context (a Hono app called directly): the wake runs unawaited.
  }
}
