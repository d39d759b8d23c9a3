/**
 * The edge's isolate caches (edge/request-caches.ts): what they keep and, above all, what they forget at once.
 * The rest of the edge suite runs with them off (EDGE_CACHE_TTL_MS "0" in vitest.config.ts), because those tests
 * age heartbeats in D1 directly; here the app runs with them on.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../edge/app.ts';
import { TtlCache } from '../../edge/ttl-cache.ts';
import { createTenant, expectJson } from './api.ts';
import { registerBase } from './fixtures.ts';

describe('TtlCache', () => {
  test('serves an entry until its time is up, keeps at most maxEntries, and forgets by key prefix', async () => {
    const cache = new TtlCache<number>(30, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3]);
    cache.deleteWhere('b');
    expect(cache.get('b')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 40));
    expect(cache.get('c')).toBeUndefined();
  });

  test('caches nothing when its time is 0, and nothing from a load that throws', async () => {
    const off = new TtlCache<number>(0);
    off.set('a', 1);
    expect(off.get('a')).toBeUndefined();
    const on = new TtlCache<number>(60_000);
    await expect(on.getOrLoad('x', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await expect(on.getOrLoad('x', async () => 7)).resolves.toBe(7);
    await expect(on.getOrLoad('x', async () => 8)).resolves.toBe(7);
  });
});

describe('with the caches on', () => {
  const app = createApp();
  const cachedEnv = { ...env, EDGE_CACHE_TTL_MS: '60000' };
  const call = async (path: string, key: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await app.fetch(
      new Request(`https://edge.test${path}`, {
        method: init.method ?? (init.body ? 'POST' : 'GET'),
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: init.body ? JSON.stringify(init.body) : undefined,
      }),
      cachedEnv,
    );
    return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
  };
  const chat = (key: string, model: string) =>
    call('/v1/chat/completions', key, { body: { model, messages: [{ role: 'user', content: 'hi' }] } });

  test('a revoked API key is refused at once, though it was just used', async () => {
    const { key } = await createTenant('cache-keys');
    const { key: other } = await createTenant('cache-keys-2');
    expect((await call('/v1/models', key)).status).toBe(200);
    const created = await expectJson('/v1/api-keys', { key, body: { name: 'second' } }, 201);
    expect((await call('/v1/models', created.key)).status).toBe(200);
    expect((await call(`/v1/api-keys/${created.id}`, key, { method: 'DELETE' })).status).toBe(200);
    expect((await call('/v1/models', created.key)).body.error?.code).toBe('revoked_api_key');
    // Other keys keep working.
    expect((await call('/v1/models', other)).status).toBe(200);
  });

  test('a deleted base model is unknown at once, though it was just resolved', async () => {
    const { key } = await createTenant('cache-models');
    const base = await registerBase(key, 'cached-base');
    // Resolved (and cached); no backend is up in this test, so routing answers 503.
    expect((await chat(key, 'cached-base')).body.error?.code).toBe('no_backend_available');
    expect((await call(`/v1/base-models/${base.id}`, key, { method: 'DELETE' })).status).toBe(200);
    expect((await chat(key, 'cached-base')).body.error?.code).toBe('model_not_found');
  });
});
