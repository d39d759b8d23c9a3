/**
 * Pins and residency on a backend process as server.ts starts it (real s3rver): the pins its heartbeat answers
 * carry are loaded and survive the adapter cache's eviction, a pin left out of an answer is released, and what is
 * loaded shows in the signed GET /internal/v1/residency and as counts in /metrics. A small HTTP server plays the
 * edge's heartbeat route.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backendBucketEnv } from '../../scripts/edge-stack.ts';
import type { PinnedTargets } from '../../contracts/api/residency.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import { configFromEnv, startBackend, type RunningBackend } from '../../gpu-backend/server.ts';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { postSigned, signedFor, testSigner } from './edge-signing.ts';
import { FIXTURE, metricSample } from './helpers.ts';

const ADAPTERS = ['pinned', 'x', 'y', 'z'];
const base = { id: 'base_tiny', name: 'tiny', storage_prefix: 'models/tiny/' };
const target = (name: string) => ({
  kind: 'adapter' as const,
  base_model: base,
  adapter: { id: `ad_${name}`, name, storage_prefix: `adapters/${name}/`, rank: 8 },
  merge: null,
  weight_bits: null,
  quantized_weights: null,
});

let s3: LocalS3;
let stateDir: string;
let backend: RunningBackend;
let edge: Server;
/** What the playing edge's heartbeat answers pin on this backend. */
let pins: PinnedTargets = [{ tenant_id: 't1', target: target('pinned') }];
let heartbeats = 0;

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'residency-test' });
  const store = new ObjectStore(s3.config);
  for (const file of await readdir(join(FIXTURE, 'base')))
    await store.put(`models/tiny/${file}`, await readFile(join(FIXTURE, 'base', file)));
  await store.put('models/tiny/tokenizer.json', JSON.stringify(tokenizerJson()));
  await store.put('models/tiny/tokenizer_config.json', JSON.stringify(tokenizerConfigJson()));
  // Four adapters (the same files under four prefixes): one pinned, three to press the two-adapter cache.
  for (const name of ADAPTERS)
    for (const file of await readdir(join(FIXTURE, 'adapters', 'task_a')))
      await store.put(`adapters/${name}/${file}`, await readFile(join(FIXTURE, 'adapters', 'task_a', file)));
  const publicKey = (await testSigner).publicKey;
  edge = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/internal/v1/backends/heartbeat') {
      heartbeats++;
      res.end(
        JSON.stringify({
          backend_id: 'residency-backend',
          heartbeat_ttl_s: 30,
          lease_ttl_s: 120,
          edge_public_key: publicKey,
          pinned: pins,
        }),
      );
    } else res.end(JSON.stringify({ task: null }));
  });
  await new Promise<void>((ok) => edge.listen(0, '127.0.0.1', ok));
  stateDir = await mkdtemp(join(tmpdir(), 'rankgate-residency-'));
  backend = await startBackend(
    configFromEnv({
      RANKGATE_LOCAL: '1',
      BACKEND_ID: 'residency-backend',
      EDGE_URL: `http://127.0.0.1:${(edge.address() as AddressInfo).port}`,
      ...backendBucketEnv({ s3 }),
      PORT: '0',
      CACHE_DIR: join(stateDir, 'cache'),
      TASK_POLL_MS: '60000',
      MAX_ADAPTERS: '2',
      HEARTBEAT_EVERY_MS: '100',
    }),
  );
});

afterAll(async () => {
  await backend?.stop();
  await new Promise((r) => edge?.close(r));
  await s3?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

async function residency(): Promise<any> {
  const path = '/internal/v1/residency';
  const res = await fetch(`${backend.url}${path}`, { headers: await signedFor(backend, 'GET', path, '') });
  expect(res.status).toBe(200);
  return res.json();
}

const residentIds = async () => (await residency()).adapters.map((a: { id: string }) => a.id).sort();

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function complete(name: string): Promise<void> {
  const res = await postSigned(backend, '/v1/completions', {
    model: `tiny:${name}`,
    prompt: 'hello',
    max_tokens: 2,
    temperature: 0,
    rankgate: { tenant_id: 't1', target: target(name) },
  });
  expect(res.status).toBe(200);
  await res.json();
}

const gauge = async (name: string) => metricSample(await (await fetch(`${backend.url}/metrics`)).text(), name);

describe('pins', () => {
  test('a pin from the heartbeat answer is loaded before any request, with its base model, and not counted as a use', async () => {
    await until(async () => (await residency()).adapters.some((a: any) => a.id === 'ad_pinned' && a.bytes !== null), 'the pin to load');
    const r = await residency();
    expect(r.adapters).toEqual([{ id: 'ad_pinned', bytes: expect.any(Number), last_used_at: null, pinned: true }]);
    expect(r.adapters[0].bytes).toBeGreaterThan(0);
    expect(r.models).toEqual([{ id: 'base_tiny', bytes: expect.any(Number), last_used_at: null, loading: false }]);
  });

  test('a pinned adapter survives eviction pressure that evicts an unpinned one; /metrics counts them', async () => {
    // The cache keeps two adapters: x, y and z in turn push out the least recently used unpinned one.
    for (const name of ['x', 'y', 'z']) await complete(name);
    expect(await residentIds()).toEqual(['ad_pinned', 'ad_z']);
    const r = await residency();
    const z = r.adapters.find((a: any) => a.id === 'ad_z');
    expect(z).toMatchObject({ pinned: false, bytes: expect.any(Number) });
    expect(z.last_used_at).toBeGreaterThan(Date.now() - 60_000);
    expect(r.models[0].last_used_at).toBeGreaterThan(Date.now() - 60_000);
    await complete('pinned');
    expect(await gauge('rankgate_resident_adapters')).toBe(2);
    expect(await gauge('rankgate_pinned_adapters')).toBe(1);
    expect(await gauge('rankgate_pinned_adapter_bytes')).toBe(z.bytes);
    expect(await gauge('rankgate_resident_models')).toBe(1);
    expect(await gauge('rankgate_cache_evictions_total{cache="adapter"}')).toBe(2);
  });

  test('a pin the next heartbeat answer leaves out is released to the LRU order and evicted like any adapter', async () => {
    pins = [];
    const seen = heartbeats;
    await until(async () => heartbeats > seen + 1, 'two more heartbeats');
    expect((await residency()).adapters.every((a: any) => !a.pinned)).toBe(true);
    expect(await gauge('rankgate_pinned_adapters')).toBe(0);
    // z is now the least recently used (pinned was used last): x pushes it out, then y pushes out pinned.
    await complete('x');
    await complete('y');
    expect(await residentIds()).toEqual(['ad_x', 'ad_y']);
  });
});
