/**
 * The backend process as server.ts starts it (real s3rver, no edge reachable): Prometheus metrics behind their
 * token, counting what serving did, and readiness saying what is unreachable.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backendBucketEnv } from '../../scripts/edge-stack.ts';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import { configFromEnv, startBackend, type RunningBackend } from '../../gpu-backend/server.ts';
import { startLocalS3, type LocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';
import { postSigned, testSigner } from './edge-signing.ts';
import { FIXTURE, metricSample } from './helpers.ts';

const METRICS_TOKEN = 'metrics-test-token';
let s3: LocalS3;
let stateDir: string;
let backend: RunningBackend;

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'metrics-test' });
  const store = new ObjectStore(s3.config);
  for (const file of await readdir(join(FIXTURE, 'base')))
    await store.put(`models/tiny/${file}`, await readFile(join(FIXTURE, 'base', file)));
  await store.put('models/tiny/tokenizer.json', JSON.stringify(tokenizerJson()));
  await store.put('models/tiny/tokenizer_config.json', JSON.stringify(tokenizerConfigJson()));
  for (const file of await readdir(join(FIXTURE, 'adapters', 'task_a')))
    await store.put(`adapters/task_a/${file}`, await readFile(join(FIXTURE, 'adapters', 'task_a', file)));
  stateDir = await mkdtemp(join(tmpdir(), 'rankgate-metrics-'));
  backend = await startBackend(
    configFromEnv({
      RANKGATE_LOCAL: '1',
      BACKEND_ID: 'metrics-backend',
      // Nothing listens here: heartbeats fail, and readiness must say so.
      EDGE_URL: 'http://127.0.0.1:9',
      EDGE_PUBLIC_KEY: (await testSigner).publicKey,
      METRICS_TOKEN,
      ...backendBucketEnv({ s3 }),
      PORT: '0',
      CACHE_DIR: join(stateDir, 'cache'),
      TASK_POLL_MS: '60000',
    }),
  );
});

afterAll(async () => {
  await backend?.stop();
  await s3?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

const metricsText = async (token: string | null = METRICS_TOKEN) => {
  const res = await fetch(`${backend.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

const sample = metricSample;

describe('metrics', () => {
  test('are read with METRICS_TOKEN only', async () => {
    expect((await metricsText(null)).status).toBe(401);
    expect((await metricsText('wrong')).status).toBe(401);
    const ok = await metricsText();
    expect(ok.status).toBe(200);
    expect(ok.type).toContain('text/plain');
    for (const name of [
      'rankgate_queue_depth',
      'rankgate_batch_rows',
      'rankgate_generated_tokens_total',
      'rankgate_time_to_first_token_seconds_bucket',
      'rankgate_adapter_cache_bytes',
      'rankgate_model_cache_bytes',
      'rankgate_backend_process_resident_memory_bytes',
    ])
      expect(ok.text).toContain(name);
  });

  test('count tokens, first-token and per-token times, and adapter cache lookups of served requests', async () => {
    const complete = async () => {
      const res = await postSigned(backend, '/v1/completions', {
        model: 'tiny:task_a',
        prompt: 'hello',
        max_tokens: 5,
        temperature: 0,
        rankgate: {
          tenant_id: 't1',
          target: {
            kind: 'adapter',
            base_model: { id: 'base_tiny', name: 'tiny', storage_prefix: 'models/tiny/' },
            adapter: { id: 'ad_a', name: 'task_a', storage_prefix: 'adapters/task_a/', rank: 8 },
            merge: null,
          },
        },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
    };
    const tokens = (await complete()) + (await complete());
    const { text } = await metricsText();
    expect(sample(text, 'rankgate_generated_tokens_total')).toBe(tokens);
    expect(sample(text, 'rankgate_time_to_first_token_seconds_count')).toBe(2);
    expect(sample(text, 'rankgate_time_per_output_token_seconds_count')).toBe(tokens - 2);
    expect(sample(text, 'rankgate_adapter_cache_requests_total{result="miss"}')).toBe(1);
    expect(sample(text, 'rankgate_adapter_cache_requests_total{result="hit"}')).toBe(1);
    expect(sample(text, 'rankgate_adapter_cache_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'rankgate_model_cache_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'rankgate_queue_depth')).toBe(0);
  });
});

describe('readiness', () => {
  test('says storage is reachable and the edge is not', async () => {
    const res = await fetch(`${backend.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, storage: true, edge: false });
    expect(await (await fetch(`${backend.url}/healthz`)).json()).toEqual({ ok: true });
  });
});
