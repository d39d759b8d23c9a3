/**
 * Serving under load, below HTTP: the scheduler's fair admission, its bounded queue, cancellation of waiting
 * requests, and the base-model cache bounded in bytes (over real s3rver and the tiny-llama fixture).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { zipf } from '../../bench/serve-load.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import type { GenerationRequest } from '../../gpu-backend/engine/generate.ts';
import { rng } from '../../gpu-backend/engine/sampling.ts';
import { readAdapterFolder, readModelFolder } from '../../gpu-backend/formats/files.ts';
import { FairQueue } from '../../gpu-backend/serve/fair-queue.ts';
import { ModelCache, ModelCacheFullError } from '../../gpu-backend/serve/models.ts';
import { MAX_PREFILL_TOKENS, MAX_WAIT_STEPS, QueueFullError, Scheduler } from '../../gpu-backend/serve/scheduler.ts';
import { FolderCache } from '../../gpu-backend/storage/folder-cache.ts';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { FIXTURE } from './helpers.ts';

describe('FairQueue', () => {
  test('takes turns across tenants, in arrival order within a tenant whatever the adapter', () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 3; i++) q.push({ tenant: 'busy' }, `busy${i}`);
    q.push({ tenant: 'quiet' }, 'quiet0');
    q.push({ tenant: 'busy' }, 'busy3');
    q.push({ tenant: 'quiet' }, 'quiet1');
    expect(q.heads()).toEqual(['busy0', 'quiet0']);
    expect(q.drain()).toEqual(['busy0', 'quiet0', 'busy1', 'quiet1', 'busy2', 'busy3']);
  });

  test('removes a waiting item from the middle, and forgets empty flows', () => {
    const q = new FairQueue<string>();
    const flow = { tenant: 't' };
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

  test('a tenant’s requests start in arrival order whatever their adapter; another tenant gets every other turn', async () => {
    // One row: admission order is exactly the order requests start.
    const s = new Scheduler(decoder, { maxBatch: 1 });
    const started: string[] = [];
    const submit = (name: string, adapter: number, tenant: string) =>
      s.submit(request({ adapter: adapters[adapter], maxTokens: 2, onToken: () => started.includes(name) || started.push(name) }), {
        tenant,
      });
    const runs = [submit('a0', 0, 'tenant_1'), submit('a1', 0, 'tenant_1'), submit('b0', 1, 'tenant_1'), submit('a2', 0, 'tenant_1')];
    runs.push(submit('other', 0, 'tenant_2'));
    await Promise.all(runs);
    // a0 took the free row at once; then tenant_2's turn comes before tenant_1's second request.
    expect(started).toEqual(['a0', 'a1', 'other', 'b0', 'a2']);
  });

  test('a closed-loop Zipf load over 32 adapters: no request waits more than MAX_WAIT_STEPS steps for its first token', async () => {
    // A prefill budget of one prompt per step (as a 50 ms budget was on a 135M model on a CPU), and 48 clients that
    // each send their next request when the last one ends, with adapters drawn by Zipf popularity as the serve bench does.
    const s = new Scheduler(decoder, { maxBatch: 48, prefillTokensPerStep: 14 });
    const family = Array.from({ length: 32 }, (_, i) => ({ ...adapters[i % 2], modules: adapters[i % 2].modules.map((m) => ({ ...m })) }));
    const popular = zipf(family.length);
    const random = rng(11);
    const waits: { submitted: number; first: number }[] = [];
    const client = async (c: number) => {
      for (let k = 0; k < 4; k++) {
        const wait = { submitted: s.steps, first: -1 };
        waits.push(wait);
        const prompt = Array.from({ length: 8 + Math.floor(random() * 6) }, (_, j) => 1 + ((c * 7 + k * 3 + j) % 60));
        await s.submit(
          request({
            prompt,
            adapter: family[popular(random())],
            maxTokens: 3 + Math.floor(random() * 8),
            onToken: () => {
              if (wait.first < 0) wait.first = s.steps;
            },
          }),
          { tenant: 'tenant_1' },
        );
      }
    };
    await Promise.all(Array.from({ length: 48 }, (_, c) => client(c)));
    const waited = waits.map((w) => w.first - w.submitted);
    expect(waited.every((w) => w >= 0)).toBe(true);
    expect(Math.max(...waited)).toBeLessThanOrEqual(MAX_WAIT_STEPS);
    // In arrival order: nobody's first token comes at a later step than that of a request sent after it.
    const bySubmission = [...waits].sort((a, b) => a.submitted - b.submitted);
    bySubmission.forEach((w, i) => expect(bySubmission.slice(i + 1).every((later) => later.first >= w.first)).toBe(true));
  });

  test('overdue admissions stay within MAX_PREFILL_TOKENS per prefill', async () => {
    // The fixture's decoder, counting the padded tokens of each prefill.
    const prefills: number[] = [];
    const counting = Object.create(decoder) as Decoder;
    counting.step = (inp) => {
      if (inp.cache === null) prefills.push(inp.rows * inp.seq);
      return decoder.step(inp);
    };
    // A budget of one prompt per step: the other 63 are overdue two steps later, more than one prefill may hold.
    const s = new Scheduler(counting, { maxBatch: 64, prefillTokensPerStep: 1 });
    const prompt = Array.from({ length: 100 }, (_, j) => 1 + (j % 60));
    const results = await Promise.all(Array.from({ length: 64 }, () => s.submit(request({ prompt, maxTokens: 3 }))));
    expect(results.every((r) => r.tokens.length === 3)).toBe(true);
    expect(Math.max(...prefills)).toBeLessThanOrEqual(MAX_PREFILL_TOKENS);
    expect(prefills.reduce((a, b) => a + b, 0)).toBe(64 * 100);
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
