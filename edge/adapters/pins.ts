/**
 * Pinned adapters: a tenant pins an adapter (at most MAX_PINNED_ADAPTERS at once) and the edge hands each pin to
 * the backend its requests route to, in that backend's heartbeat answer, where it stays loaded. The heartbeat
 * carries pins (rather than each forwarded request) because it reaches a backend before any request does, and
 * again every few seconds: a pin loads ahead of its first request, an unpin is released at the next heartbeat,
 * and when routing moves (a backend leaves or joins) the backend now first in rendezvous order takes the pin
 * at its next heartbeat.
 */
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Routing } from '../../contracts/api/routed-target.ts';
import { DEFAULT_MAX_PINNED_ADAPTERS } from '../../contracts/api/residency.ts';
import { adapters, backends, baseModels } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import { type Env, numberVar } from '../env.ts';
import { ApiError } from '../errors.ts';
import { nowS } from '../ids.ts';
import { adapterRef } from '../inference/model-ref.ts';
import { rendezvousOrder } from '../inference/rendezvous.ts';
import type { AdapterRow } from './registry.ts';

export const maxPinnedAdapters = (env: Env) => numberVar(env.MAX_PINNED_ADAPTERS, DEFAULT_MAX_PINNED_ADAPTERS);

/** Pins a ready adapter; pinning one already pinned changes nothing. Past the tenant's limit, a 409 naming it. */
export async function pinAdapter(db: Db, env: Env, a: AdapterRow): Promise<AdapterRow> {
  if (a.pinnedAt !== null) return a;
  if (a.status !== 'ready')
    throw new ApiError(409, 'adapter_not_ready', `Adapter "${a.name}" is ${a.status}; only ready adapters can be pinned.`, 'id');
  const max = maxPinnedAdapters(env);
  // One statement, so two pins at once cannot both take the last place.
  const [pinned] = await db
    .update(adapters)
    .set({ pinnedAt: nowS() })
    .where(
      and(
        eq(adapters.id, a.id),
        isNull(adapters.pinnedAt),
        sql`(select count(*) from ${adapters} where ${adapters.tenantId} = ${a.tenantId} and ${adapters.pinnedAt} is not null) < ${max}`,
      ),
    )
    .returning();
  if (pinned) return pinned;
  const [again] = await db.select().from(adapters).where(eq(adapters.id, a.id));
  if (again?.pinnedAt != null) return again;
  const held = await db
    .select({ name: adapters.name })
    .from(adapters)
    .where(and(eq(adapters.tenantId, a.tenantId), isNotNull(adapters.pinnedAt)));
  throw new ApiError(
    409,
    'pin_limit_reached',
    `You have ${held.length} adapters pinned (${held.map((h) => h.name).join(', ')}), the most one tenant may pin (MAX_PINNED_ADAPTERS, ${max}); unpin one first (DELETE /v1/adapters/{id}/pin).`,
    'id',
  );
}

/** Unpins an adapter; unpinning one not pinned changes nothing. */
export async function unpinAdapter(db: Db, a: AdapterRow): Promise<AdapterRow> {
  if (a.pinnedAt === null) return a;
  const [row] = await db.update(adapters).set({ pinnedAt: null }).where(eq(adapters.id, a.id)).returning();
  return row ?? { ...a, pinnedAt: null };
}

/**
 * The pins `backendId` is to hold: every ready pinned adapter whose routing key (its id, as a completion through
 * `<base>:<adapter>` routes) puts that backend first among the backends with a fresh heartbeat.
 */
export async function pinsFor(db: Db, backendId: string, heartbeatTtlS: number): Promise<Routing[]> {
  const since = Date.now() - heartbeatTtlS * 1000;
  const fresh = (await db.select({ id: backends.id, at: backends.lastHeartbeatAt }).from(backends)).filter((b) => b.at >= since);
  const rows = await db
    .select({ adapter: adapters, base: baseModels })
    .from(adapters)
    .innerJoin(baseModels, eq(baseModels.id, adapters.baseModelId))
    .where(and(isNotNull(adapters.pinnedAt), eq(adapters.status, 'ready')));
  return rows
    .filter(({ adapter }) => rendezvousOrder(adapter.id, fresh)[0]?.id === backendId)
    .map(({ adapter, base }) => ({
      tenant_id: adapter.tenantId,
      target: {
        kind: 'adapter',
        base_model: { id: base.id, name: base.name, storage_prefix: base.storagePrefix },
        adapter: adapterRef(adapter),
        merge: null,
        weight_bits: null,
        quantized_weights: null,
      },
    }));
}
