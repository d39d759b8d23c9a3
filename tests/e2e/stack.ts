/**
 * The whole stack over real processes for end-to-end tests: s3rver, the edge (Miniflare, scripts/edge-stack.ts, its own
 * process group) and the backend server (a child process, its own group), on free loopback ports with state
 * in a temporary folder. The bucket holds the tiny-llama fixture as base model `models/tiny-llama/`, with the
 * default model's character-level tokenizer (it fits inside tiny-llama's 320-token vocabulary).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackendProcess, type BackendProcess } from '../../scripts/backend-process.ts';
import { issueBackendCredential } from '../../scripts/edge-api.ts';
import { backendBucketEnv, root, startEdgeStack, type EdgeStack } from '../../scripts/edge-stack.ts';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';

import { EdgeApi } from '../../scripts/edge-api.ts';

export { EdgeApi };

export const FIXTURE = join(root, 'tests', 'fixtures', 'tiny-llama');
export const ADMIN_TOKEN = 'e2e-admin-token';
export const BASE_PREFIX = 'models/tiny-llama/';

export interface Stack {
  edge: EdgeStack;
  backend: BackendProcess;
  stateDir: string;
  /** Starts another backend process (e.g. after killing the first), with `env` added to its environment. */
  startBackend(id: string, env?: Record<string, string>): Promise<BackendProcess>;
  stop(): Promise<void>;
}

async function uploadBase(store: ObjectStore) {
  for (const file of await readdir(join(FIXTURE, 'base'))) await store.put(BASE_PREFIX + file, await readFile(join(FIXTURE, 'base', file)));
  await store.put(`${BASE_PREFIX}tokenizer.json`, JSON.stringify(tokenizerJson()));
  await store.put(`${BASE_PREFIX}tokenizer_config.json`, JSON.stringify(tokenizerConfigJson()));
}

/** `vars`: more edge settings; `backendEnv`: more settings for every backend started. */
export async function startStack(opts: {
  leaseTtlS: number;
  vars?: Record<string, string>;
  backendEnv?: Record<string, string>;
}): Promise<Stack> {
  const stateDir = await mkdtemp(join(tmpdir(), 'rankgate-e2e-'));
  const edge = await startEdgeStack({
    edgePort: 0,
    s3Port: 0,
    bucket: 'rankgate-e2e',
    stateDir,
    adminToken: ADMIN_TOKEN,
    output: 'buffer',
    vars: { LEASE_TTL_S: String(opts.leaseTtlS), ...opts.vars },
  });
  const backends: BackendProcess[] = [];
  const startBackend = async (id: string, env: Record<string, string> = {}) => {
    // Each backend its own credential, issued by the operator's route as in production.
    const { token } = await issueBackendCredential(edge.edgeUrl, ADMIN_TOKEN, id);
    const backend = await startBackendProcess(
      {
        EDGE_URL: edge.edgeUrl,
        RANKGATE_LOCAL: '1',
        BACKEND_TOKEN: token,
        BACKEND_ID: id,
        ...backendBucketEnv(edge),
        PORT: '0',
        CACHE_DIR: join(stateDir, `cache-${id}`),
        HEARTBEAT_EVERY_MS: '1000',
        TASK_POLL_MS: '250',
        EVENTS_EVERY_MS: '250',
        CHECKPOINT_EVERY: '2',
        ...opts.backendEnv,
        ...env,
      },
      'buffer',
    );
    backends.push(backend);
    return backend;
  };
  try {
    await uploadBase(edge.store);
    const backend = await startBackend('e2e-backend-1');
    return {
      edge,
      backend,
      stateDir,
      startBackend,
      async stop() {
        await Promise.all(backends.map((b) => b.stop()));
        await edge.stop();
        await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(backends.map((b) => b.stop()));
    await edge.stop();
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}

/** A new tenant on the stack with the fixture registered as base model `tiny-llama`. */
export async function fixtureTenant(stack: Stack, name: string): Promise<EdgeApi> {
  const api = await EdgeApi.newTenant(stack.edge.edgeUrl, ADMIN_TOKEN, name);
  await api.json('/v1/base-models', { body: { name: 'tiny-llama', storage_prefix: BASE_PREFIX } }, 201);
  return api;
}

/**
 * Uploads one of the fixture's PEFT adapters (`task`) as `name` on tiny-llama and commits it, as a client does:
 * the weights straight to the bucket with their presigned URL, the config streamed through the edge. Returns the
 * commit's answer (the adapter, ready).
 */
export async function uploadFixtureAdapter(api: EdgeApi, name: string, task = 'task_a'): Promise<any> {
  return uploadAdapterFiles(api, name, {
    'adapter_config.json': await readFile(join(FIXTURE, 'adapters', task, 'adapter_config.json')),
    'adapter_model.safetensors': await readFile(join(FIXTURE, 'adapters', task, 'adapter_model.safetensors')),
  });
}

/** Uploads a PEFT adapter's two files as `name` on tiny-llama and commits it, as uploadFixtureAdapter does. */
export async function uploadAdapterFiles(
  api: EdgeApi,
  name: string,
  files: { 'adapter_config.json': Uint8Array; 'adapter_model.safetensors': Uint8Array },
): Promise<any> {
  const created = await api.json(
    '/v1/adapters',
    { body: { name, base_model: 'tiny-llama', files: Object.entries(files).map(([filename, b]) => ({ filename, bytes: b.byteLength })) } },
    201,
  );
  for (const target of created.upload.files) {
    const bytes = new Uint8Array(files[target.filename as keyof typeof files]);
    const res =
      target.filename === 'adapter_model.safetensors'
        ? await fetch(target.presigned.url, {
            method: 'PUT',
            headers: Object.fromEntries(
              Object.entries(target.presigned.headers as Record<string, string>).filter(([h]) => h !== 'content-length'),
            ),
            body: bytes,
          })
        : await api.fetch(new URL(target.edge.url).pathname, { method: 'PUT', body: bytes });
    if (res.status >= 300) throw new Error(`PUT ${target.filename}: ${res.status} ${await res.text()}`);
  }
  return api.json(`/v1/adapters/${created.adapter.id}/commit`, { method: 'POST' });
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs a test's body; when it fails, shows the processes' output first (the failure is often in another process). */
export async function withStackLogs<T>(stack: Stack, run: () => Promise<T>, onFailure?: () => Promise<unknown>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    console.error(`--- backend ---\n${stack.backend.logs().slice(-4000)}\n--- edge ---\n${stack.edge.logs().slice(-4000)}`);
    await onFailure?.().catch(() => {});
    throw err;
  }
}
