/**
 * The operator's view of what each backend has loaded: the edge asks every backend with a fresh heartbeat, over
 * the signed internal channel (GET /internal/v1/residency), for its models and adapters, their bytes and last use.
 */
import { createRoute } from '@hono/zod-openapi';
import { asc } from 'drizzle-orm';
import { BackendResidency } from '../../contracts/api/residency.ts';
import { backends } from '../../schema/index.ts';
import { signedCall, signerFor } from '../auth/edge-signer.ts';
import { requireAdminToken } from '../auth/middleware.ts';
import { ResidencyList } from '../schemas/backends.ts';
import { heartbeatTtlS } from './internal.ts';
import { adminSecurity, commonErrors, jsonResponse, reply, router } from './define.ts';

/** A backend that does not answer within this long is listed with its error; the others are not held up. */
const ASK_TIMEOUT_MS = 3000;

type BackendRow = typeof backends.$inferSelect;

async function askResidency(
  backend: BackendRow,
  signingKey: string | undefined,
): Promise<{ residency: BackendResidency | null; error: string | null }> {
  const signer = signerFor(signingKey);
  if (!signer) return { residency: null, error: 'the edge has no EDGE_SIGNING_KEY, so it cannot sign requests to backends' };
  try {
    const { url, headers } = await signedCall(signer, backend, 'GET', '/internal/v1/residency');
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
    if (!res.ok) {
      await res.body?.cancel();
      return { residency: null, error: `HTTP ${res.status}` };
    }
    const parsed = BackendResidency.safeParse(await res.json().catch(() => null));
    return parsed.success ? { residency: parsed.data, error: null } : { residency: null, error: 'malformed residency answer' };
  } catch (err) {
    return { residency: null, error: err instanceof Error ? err.message : String(err) };
  }
}

export const residencyRoutes = router().openapi(
  createRoute({
    method: 'get',
    path: '/admin/v1/residency',
    summary: 'Per backend with a fresh heartbeat: the models and adapters it has loaded, their bytes, last use and pins (operator only)',
    security: adminSecurity,
    middleware: [requireAdminToken],
    responses: { 200: jsonResponse(ResidencyList, 'One entry per fresh backend, by id.'), ...commonErrors },
  }),
  async (c) => {
    const since = Date.now() - heartbeatTtlS(c.env) * 1000;
    const fresh = (await c.var.db.select().from(backends).orderBy(asc(backends.id))).filter((b) => b.lastHeartbeatAt >= since);
    const data = await Promise.all(
      fresh.map(async (b) => ({
        object: 'backend_residency' as const,
        backend_id: b.id,
        url: b.url,
        last_heartbeat_at: b.lastHeartbeatAt,
        in_flight: b.inFlight,
        capacity: b.capacity,
        ...(await askResidency(b, c.env.EDGE_SIGNING_KEY)),
      })),
    );
    return reply(c, ResidencyList, { object: 'list', data }, 200);
  },
);
