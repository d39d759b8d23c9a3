/**
 * Sends an inference request to a backend: candidates are backends with a fresh heartbeat, in rendezvous
 * order for the routing key, skipping those at capacity. Each attempt is signed for the backend it goes to
 * (contracts/api/edge-signature.ts), so a backend serves only what the edge sent it. A backend that fails before answering (connection
 * error, 5xx, or 429 for a full queue) is skipped for the next; once a backend answers, its answer (streamed as it comes) is final.
 */
import { backends } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import type { Env } from '../env.ts';
import { requestCaches } from '../request-caches.ts';
import { requireSigner } from '../auth/edge-signer.ts';
import { ApiError } from '../errors.ts';
import { rendezvousOrder } from './rendezvous.ts';

/** Tries at most this many backends for one request. */
const MAX_ATTEMPTS = 3;

export interface ProxyResult {
  response: Response;
  backendId: string;
}

export async function pickCandidates(db: Db, env: Env, routingKey: string, heartbeatTtlS: number) {
  // Freshness is judged now, on rows that may be a moment old (request-caches.ts).
  const rows = await requestCaches(env).backends.getOrLoad('all', () => db.select().from(backends));
  const fresh = rows.filter((b) => b.lastHeartbeatAt >= Date.now() - heartbeatTtlS * 1000);
  if (fresh.length === 0) {
    throw new ApiError(
      503,
      'no_backend_available',
      'No backend is up to serve this model right now; retry after the Retry-After seconds.',
      null,
      { 'retry-after': '5' },
    );
  }
  const open = rendezvousOrder(routingKey, fresh).filter((b) => b.inFlight < b.capacity);
  if (open.length === 0) {
    throw new ApiError(503, 'backends_at_capacity', 'Every backend is at capacity; retry after the Retry-After seconds.', null, {
      'retry-after': '1',
    });
  }
  return open;
}

export async function proxyToBackend(
  candidates: { id: string; url: string; bootId: string | null }[],
  path: string,
  body: unknown,
  signingKey: string | undefined,
): Promise<ProxyResult> {
  const signer = await requireSigner(signingKey);
  const json = JSON.stringify(body);
  const failures: string[] = [];
  let busy = 0;
  for (const backend of candidates.slice(0, MAX_ATTEMPTS)) {
    try {
      const url = new URL(path, backend.url);
      const signed = await signer.sign({
        backendId: backend.id,
        bootId: backend.bootId ?? undefined,
        method: 'POST',
        path: url.pathname + url.search,
        body: json,
      });
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signed },
        body: json,
      });
      // A full queue (429) is as good a reason to try the next backend as a failure.
      if (response.status < 500 && response.status !== 429) return { response, backendId: backend.id };
      if (response.status === 429) busy++;
      failures.push(`${backend.id}: HTTP ${response.status}`);
      await response.body?.cancel();
    } catch (err) {
      failures.push(`${backend.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (busy > 0 && busy === failures.length) {
    throw new ApiError(429, 'backends_busy', 'Every backend tried has a full queue; retry after the Retry-After seconds.', null, {
      'retry-after': '1',
    });
  }
  console.warn('inference: every backend tried failed', failures);
  throw new ApiError(
    502,
    'backends_failed',
    `${failures.length} backend${failures.length > 1 ? 's' : ''} failed before answering; retry after the Retry-After seconds.`,
    null,
    { 'retry-after': '2' },
  );
}
