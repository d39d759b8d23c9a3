/**
 * Sends an inference request to a backend: candidates are backends with a fresh heartbeat, in rendezvous
 * order for the routing key, skipping those at capacity. Each attempt is signed for the backend it goes to
 * (contracts/api/edge-signature.ts), so a backend serves only what the edge sent it. A backend that fails before answering (connection
 * error or 5xx) is skipped for the next; once a backend answers, its answer (streamed as it comes) is final.
 */
import { gte } from 'drizzle-orm';
import { backends } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import { requireSigner } from '../auth/edge-signer.ts';
import { ApiError } from '../errors.ts';
import { rendezvousOrder } from './rendezvous.ts';

/** Tries at most this many backends for one request. */
const MAX_ATTEMPTS = 3;

export interface ProxyResult {
  response: Response;
  backendId: string;
}

export async function pickCandidates(db: Db, routingKey: string, heartbeatTtlS: number) {
  const fresh = await db
    .select()
    .from(backends)
    .where(gte(backends.lastHeartbeatAt, Date.now() - heartbeatTtlS * 1000));
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
  candidates: { id: string; url: string }[],
  path: string,
  body: unknown,
  signingKey: string | undefined,
): Promise<ProxyResult> {
  const signer = await requireSigner(signingKey);
  const json = JSON.stringify(body);
  const failures: string[] = [];
  for (const backend of candidates.slice(0, MAX_ATTEMPTS)) {
    try {
      const url = new URL(path, backend.url);
      const signed = await signer.sign({ backendId: backend.id, method: 'POST', path: url.pathname + url.search, body: json });
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signed },
        body: json,
      });
      if (response.status < 500) return { response, backendId: backend.id };
      failures.push(`${backend.id}: HTTP ${response.status}`);
      await response.body?.cancel();
    } catch (err) {
      failures.push(`${backend.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
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
