/**
 * The isolate's caches of what every inference request reads (ttl-cache.ts says why): an API key's tenant,
 * what a tenant's `model` string resolves to, and the backends with a fresh heartbeat. Only successes are kept,
 * so a key, model or backend that appears is seen at once; what disappears is forgotten at once by this
 * isolate's own writes (the forget* calls) and within EDGE_CACHE_TTL_MS by the others'.
 */
import { DEFAULT_CACHE_TTL_MS, type RoutedTarget } from '../contracts/api/routed-target.ts';
import type { backends } from '../schema/index.ts';
import { numberVar, type Env } from './env.ts';
import { TtlCache } from './ttl-cache.ts';

export interface Resolved {
  target: RoutedTarget;
  routingKey: string;
}

interface Caches {
  ttlMs: number;
  apiKeys: TtlCache<string>;
  models: TtlCache<Resolved>;
  backends: TtlCache<(typeof backends.$inferSelect)[]>;
}

let caches: Caches | null = null;

/** The caches, made on first use with the Worker's setting (the same for every request of an isolate). */
export function requestCaches(env: Env): Caches {
  const ttlMs = env.EDGE_CACHE_TTL_MS === '0' ? 0 : numberVar(env.EDGE_CACHE_TTL_MS, DEFAULT_CACHE_TTL_MS);
  if (caches?.ttlMs !== ttlMs) {
    caches = { ttlMs, apiKeys: new TtlCache(ttlMs), models: new TtlCache(ttlMs), backends: new TtlCache(ttlMs, 1) };
  }
  return caches;
}

/** After an API key is revoked. */
export function forgetApiKeys(env: Env): void {
  requestCaches(env).apiKeys.deleteWhere('');
}

/** After a tenant deletes an adapter or base model. */
export function forgetModels(env: Env, tenantId: string): void {
  requestCaches(env).models.deleteWhere(modelKey(tenantId, ''));
}

/** After a heartbeat or a backend's credential is revoked. */
export function forgetBackends(env: Env): void {
  requestCaches(env).backends.deleteWhere('');
}

export const modelKey = (tenantId: string, model: string) => `${tenantId}\u0000${model}`;
