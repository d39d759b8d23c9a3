/**
 * Serving under load, below HTTP: the scheduler's fair admission, its bounded queue, cancellation of waiting
 * requests, and the base-model cache bounded in bytes (over real s3rver and the tiny-llama fixture).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import type { GenerationRequest } from '../../gpu-backend/engine/generate.ts';
import { readAdapterFolder, readModelFolder } from '../../gpu-backend/formats/files.ts';
import { FairQueue } from '../../gpu-backend/serve/fair-queue.ts';
import { ModelCache, ModelCacheFullError } from '../../gpu-backend/serve/models.ts';
import { QueueFullError, Scheduler } from '../../gpu-backend/serve/scheduler.ts';
import { FolderCache } from '../../gpu-backend/storage/folder-cache.ts';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { FIXTURE } from './helpers.ts';

describe('FairQueue', () => {
  test('takes turns across tenants, then across adapters within a tenant, in arrival order within a flow', () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 4; i++) q.push({ tenant: 'busy', adapter: 'a' }, `busy-a${i}`);
    q.push({ tenant: 'busy', adapter: 'b' }, 'busy-b0');
    q.push({ tenant: 'quiet', adapter: 'c' }, 'quiet-c0');
    q.push({ tenant: 'quiet', adapter: 'c' }, 'quiet-c1');
    expect(q.drain()).toEqual(['busy-a0', 'quiet-c0', 'busy-b0', 'quiet-c1', 'busy-a1', 'busy-a2', 'busy-a3']);
  });

  test('removes a waiting item from the middle, and forgets empty flows', () => {
    const q = new FairQueue<string>();
    const flow = { tenant: 't', adapter: 'a' };
    q.push(flow, 'x');
    q.push(flow, 'y');
    expect(q.remove(flow, 'x')).toBe(true);
    expect(q.remove(flow, 'x')).toBe(false);
    expect(q.size).toBe(1);
    expect(q.remove(flow, 'y')).toBe(true);
    expect(q.peek()).toBeUndefined();
    expect(q.shift()).toBeUndefined();
  });
});

describe('Scheduler', () => {
  let decoder: Decoder;
  let adapters: Awaited<ReturnType<typeof readAdapterFolder>>[];

  beforeAll(async () => {
    decoder = await Decoder.fromFolder(await readModelFolder(join(FIXTURE, 'base')));
    adapters = await Promise.all(['task_a', 'task_b'].map((t) => readAdapterFolder(join(FIXTURE, 'adapters', t), decoder.cfg)));
  });

  const request = (over: Partial<GenerationRequest> = {}): GenerationRequest => ({
    prompt: [1, 5, 6, 7],
    adapter: null,
    maxTokens: 6,
    temperature: 0,
    ...over,
  });

  test('a quiet adapter is admitted before a busy adapter’s backlog drains', async () => {
    // One row: admission order is exactly the order requests start.
    const s = new Scheduler(decoder, { maxBatch: 1 });
    const started: string[] = [];
    const submit = (name: string, adapter: number, tenant: string) =>
      s.submit(request({ adapter: adapters[adapter], maxTokens: 2, onToken: () => started.includes(name) || started.push(name) }), {
        tenant,
        adapter: `ad${adapter}`,
      });
    const busy = Array.from({ length: 5 }, (_, i) => submit(`busy${i}`, 0, 'tenant_1'));
    const quiet = submit('quiet', 1, 'tenant_1');
    const other = submit('other', 0, 'tenant_2');
    await Promise.all([...busy, quiet, other]);
    // busy0 took the free row at once; then turns alternate by tenant, and within tenant_1 by adapter.
    expect(started.indexOf('quiet')).toBeLessThan(started.indexOf('busy2'));
    expect(started.indexOf('other')).toBeLessThan(started.indexOf('busy2'));
    expect(started).toHaveLength(7);
  });

  test('the queue is bounded: one more request is refused with QueueFullError', async () => {
    const s = new Scheduler(decoder, { maxBatch: 1, maxQueued: 2 });
    const accepted = [0, 1, 2].map(() => s.submit(request()));
    expect(() => s.submit(request())).toThrow(QueueFullError);
    await Promise.all(accepted);
    // Once drained, it takes requests again.
    await expect(s.submit(request())).resolves.toMatchObject({ finishReason: 'length' });
  });

  test('a waiting request whose client went away leaves the queue at once', async () => {
    const s = new Scheduler(decoder, { maxBatch: 1 });
    const running = s.submit(request({ maxTokens: 20 }));
    const controller = new AbortController();
    const waiting = s.submit(request({ signal: controller.signal }));
    expect(s.queued).toBe(1);
    controller.abort();
    expect(s.queued).toBe(0);
    await expect(waiting).resolves.toEqual({ tokens: [], finishReason: 'cancelled' });
    await running;
  });

  test('admission respects the prefill budget but always takes one request', async () => {
    const s = new Scheduler(decoder, { maxBatch: 8, prefillTokensPerStep: 8 });
    const long = Array.from({ length: 20 }, (_, i) => 1 + (i % 50));
    const results = await Promise.all([s.submit(request({ prompt: long })), s.submit(request()), s.submit(request())]);
    expect(results.map((r) => r.tokens.length)).toEqual([6, 6, 6]);
  });

  test('results do not depend on how requests were admitted together', async () => {
    const prompts = [
      [1, 9, 8, 7, 6],
      [1, 2],
      [1, 30, 31, 32, 33, 34, 35],
    ];
    const run = async (opts: ConstructorParameters<typeof Scheduler>[1]) => {
      const s = new Scheduler(decoder, opts);
      return Promise.all(prompts.map((prompt, i) => s.submit(request({ prompt, adapter: adapters[i % 2] }))));
    };
    const together = await run({ maxBatch: 8, prefillTokensPerStep: 1000 });
    const oneByOne = await run({ maxBatch: 8, prefillTokensPerStep: 1 });
    expect(oneByOne.map((r) => r.tokens)).toEqual(together.map((r) => r.tokens));
  });
});

describe('ModelCache', () => {
  let s3: LocalS3;
  let cacheDir: string;
  let store: ObjectStore;
  let baseBytes: number;

  beforeAll(async () => {
    s3 = await startLocalS3({ bucket: 'model-cache-test' });
    store = new ObjectStore(s3.config);
    for (const prefix of ['models/one/', 'models/two/', 'models/three/'])
      for (const file of await readdir(join(FIXTURE, 'base'))) await store.put(prefix + file, await readFile(join(FIXTURE, 'base', file)));
    cacheDir = await mkdtemp(join(tmpdir(), 'rankgate-model-cache-'));
    const probe = new ModelCache(new FolderCache(store, cacheDir));
    await probe.base({ id: 'one', storage_prefix: 'models/one/' });
    baseBytes = probe.baseBytes;
  });

  afterAll(async () => {
    await s3?.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  const ref = (id: string) => ({ id, storage_prefix: `models/${id}/` });

  test('counts a base by its float32 weights and evicts the least recently used idle one', async () => {
    const cfg = (await readModelFolder(join(FIXTURE, 'base'))).config;
    expect(baseBytes).toBeGreaterThan(4 * cfg.vocabSize * cfg.hiddenSize);
    const cache = new ModelCache(new FolderCache(store, cacheDir), { maxBaseBytes: 2 * baseBytes, tenantShare: 1 });
    await cache.base(ref('one'));
    await cache.base(ref('two'));
    await cache.base(ref('one'));
    await cache.base(ref('three'));
    expect(cache.loadedBases).toEqual(['one', 'three']);
    expect(cache.evictions).toBe(1);
    expect(cache.baseBytes).toBe(2 * baseBytes);
  });

  test('a tenant over its share evicts its own bases before anyone else’s', async () => {
    const cache = new ModelCache(new FolderCache(store, cacheDir), { maxBaseBytes: 2 * baseBytes, tenantShare: 0.5 });
    await cache.base(ref('one'), 'other');
    await cache.base(ref('two'), 'greedy');
    await cache.base(ref('three'), 'greedy');
    expect(cache.loadedBases).toEqual(['one', 'three']);
  });

  test('a base that is generating is not evicted; when nothing can go, loading is refused', async () => {
    const cache = new ModelCache(new FolderCache(store, cacheDir), { maxBaseBytes: baseBytes, tenantShare: 1 });
    const one = await cache.base(ref('one'));
    // Slowed down and stopped by hand, so it is surely still generating while 'two' asks for room.
    const step = one.decoder.step.bind(one.decoder);
    one.decoder.step = async (inp) => {
      await new Promise((r) => setTimeout(r, 20));
      return step(inp);
    };
    const stop = new AbortController();
    const busy = one.scheduler.submit({ prompt: [1, 2, 3], adapter: null, maxTokens: 100, temperature: 0, signal: stop.signal });
    await expect(cache.base(ref('two'))).rejects.toThrow(ModelCacheFullError);
    stop.abort();
    await busy;
    await expect(cache.base(ref('two'))).resolves.toMatchObject({ id: 'two' });
    expect(cache.loadedBases).toEqual(['two']);
  });
});
