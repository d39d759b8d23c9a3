/**
 * The backend process: serves OpenAI-style completions for the edge (serve/app.ts on @hono/node-server),
 * registers itself with heartbeats, and claims and runs fine-tuning jobs (worker/). Every setting but its
 * credential has a default that matches the local stack (scripts/dev-edge.ts); the environment overrides them.
 * The credential (BACKEND_TOKEN, with the BACKEND_ID it is bound to) is issued by the operator; without one
 * the backend starts only in local mode (RANKGATE_LOCAL=1, which the local and e2e stacks set).
 *
 *   node --import tsx gpu-backend/server.ts
 */
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { backendApp } from './serve/app.ts';
import { EdgeKey } from './serve/edge-auth.ts';
import { newBootId } from '../contracts/api/edge-signature.ts';
import { FolderCache } from './storage/folder-cache.ts';
import { BackendMetrics } from './serve/metrics.ts';
import { DEFAULT_MODEL_CACHE_OPTIONS, ModelCache } from './serve/models.ts';
import { DEFAULT_SCHEDULER_OPTIONS, type SchedulerOptions } from './serve/scheduler.ts';
import { DEFAULT_TOKENIZER_LIMITS, type TokenizerLimits } from './formats/tokenizer-sandbox.ts';
import { type EnginePrecision, parseEnginePrecision, useEnginePrecision } from './engine/precision.ts';
import {
  type ExecutionProvider,
  type ExecutionProviderSetting,
  parseExecutionProvider,
  swiftShaderInUse,
  useExecutionProvider,
} from './engine/providers.ts';
import { LEASE_TTL_S } from '../contracts/api/jobs.ts';
import { MAX_RANK } from '../contracts/formats/peft-config.ts';
import { ObjectStore, type ObjectStoreConfig } from '../contracts/storage/object-store.ts';
import { PinnedTargets } from '../contracts/api/residency.ts';
import { EdgeClient } from './worker/edge-client.ts';
import { HeartbeatSender } from './worker/heartbeat.ts';
import { JobLoop } from './worker/job-loop.ts';

export interface BackendConfig {
  edgeUrl: string;
  /** This backend's credential for the edge's /internal routes; null only in local mode. */
  token: string | null;
  /** The edge's signing key (EDGE_PUBLIC_KEY), pinned; null: learned from the heartbeat answer. */
  edgePublicKey: string | null;
  /** RANKGATE_LOCAL=1: a development stack, where a missing credential is not fatal. */
  local: boolean;
  s3: ObjectStoreConfig;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Where the edge reaches this backend (default: http://<host>:<port>). */
  publicUrl: string | null;
  backendId: string;
  /** Requests it takes at once (running and queued), announced in heartbeats: the edge sends no more. */
  capacity: number;
  /** How it serves: rows decoded together, requests queued, prompt tokens prefilled per step. */
  scheduler: SchedulerOptions;
  /** Bearer token for GET /metrics (METRICS_TOKEN); without one, metrics are served only in local mode. */
  metricsToken: string | null;
  /** Bytes of base-model weights kept loaded; adapters kept loaded. */
  modelCacheBytes: number;
  maxAdapters: number;
  /** Each base model's tokenizer and chat template run in a process of their own, with this deadline per call and heap cap. */
  tokenizerLimits: TokenizerLimits;
  /** The most total rank (Σ rᵢ) of the adapters one request mixes. */
  maxMixRank: number;
  cacheDir: string;
  heartbeatEveryMs: number;
  jobPollMs: number;
  trainingSlots: number;
  checkpointEvery: number;
  eventsEveryMs: number;
  /** EXECUTION_PROVIDER: auto (CUDA when installed and a GPU is visible, else WebGPU on a Vulkan GPU, else CPU), cuda, webgpu or cpu. */
  executionProvider: ExecutionProviderSetting;
  /** ENGINE_PRECISION: fp32 (default) or fp16, the serving graphs' weights and activations; fp16 only on WebGPU with a GPU. */
  enginePrecision: EnginePrecision;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** The configuration from the environment, over defaults that fit the local stack. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): BackendConfig {
  const int = (name: string, fallback: number, min = 1): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}".`);
    return n;
  };
  const port = int('PORT', 8788, 0);
  const local = env.RANKGATE_LOCAL === '1' || env.RANKGATE_LOCAL === 'true';
  const token = env.BACKEND_TOKEN || null;
  if (env.BACKEND_SECRET !== undefined)
    throw new Error(
      'BACKEND_SECRET is no longer used: each backend has its own credential. Issue one with POST /admin/v1/backend-credentials and set BACKEND_TOKEN and BACKEND_ID.',
    );
  if (!local && (!token || !env.BACKEND_ID))
    throw new Error(
      `${token ? 'BACKEND_ID' : 'BACKEND_TOKEN'} is not set: issue this backend a credential with POST /admin/v1/backend-credentials (ADMIN_TOKEN) and set BACKEND_TOKEN and BACKEND_ID from its answer, or set RANKGATE_LOCAL=1 on a local development stack.`,
    );
  const stateDir = resolve(root, env.RANKGATE_STATE_DIR ?? '.rankgate');
  const defaults = DEFAULT_SCHEDULER_OPTIONS;
  const scheduler: SchedulerOptions = {
    maxBatch: int('MAX_BATCH', defaults.maxBatch),
    maxQueued: int('QUEUE_LIMIT', defaults.maxQueued, 0),
    prefillTokensPerStep: int('PREFILL_TOKENS_PER_STEP', defaults.prefillTokensPerStep),
    prefillMsPerStep: int('PREFILL_MS_PER_STEP', defaults.prefillMsPerStep),
  };
  const maxMixRank = int('MAX_MIX_RANK', DEFAULT_MODEL_CACHE_OPTIONS.maxMixRank);
  // A mix is served as one adapter of rank Σ rᵢ, and an adapter's rank is bounded.
  if (maxMixRank > MAX_RANK) throw new Error(`MAX_MIX_RANK must be at most ${MAX_RANK} (the largest LoRA rank), got ${maxMixRank}.`);
  return {
    edgeUrl: env.EDGE_URL ?? 'http://127.0.0.1:8787',
    token,
    edgePublicKey: env.EDGE_PUBLIC_KEY || null,
    local,
    s3: {
      endpoint: env.S3_ENDPOINT ?? 'http://127.0.0.1:4569',
      bucket: env.S3_BUCKET ?? 'rankgate',
      accessKeyId: env.S3_ACCESS_KEY_ID ?? 'S3RVER',
      secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? 'S3RVER',
      region: env.S3_REGION ?? 'auto',
    },
    host: env.HOST ?? '127.0.0.1',
    port,
    publicUrl: env.BACKEND_URL ?? null,
    // Stable across restarts, so a restarted backend is the same entry in the edge's table.
    backendId: env.BACKEND_ID ?? `backend-${hostname()}-${port}`.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128),
    scheduler,
    capacity: int('CAPACITY', scheduler.maxBatch + scheduler.maxQueued),
    modelCacheBytes: int('MODEL_CACHE_BYTES', DEFAULT_MODEL_CACHE_OPTIONS.maxBaseBytes),
    metricsToken: env.METRICS_TOKEN || null,
    maxAdapters: int('MAX_ADAPTERS', DEFAULT_MODEL_CACHE_OPTIONS.maxAdapters),
    tokenizerLimits: {
      deadlineMs: int('TOKENIZER_DEADLINE_MS', DEFAULT_TOKENIZER_LIMITS.deadlineMs),
      memoryMb: int('TOKENIZER_MEMORY_MB', DEFAULT_TOKENIZER_LIMITS.memoryMb, 16),
    },
    maxMixRank,
    cacheDir: resolve(env.CACHE_DIR ?? join(stateDir, 'backend-cache')),
    heartbeatEveryMs: int('HEARTBEAT_EVERY_MS', 10_000),
    // The variable keeps its first name (deployments set it); it is the wait between claims of jobs.
    jobPollMs: int('TASK_POLL_MS', 2_000),
    trainingSlots: int('TRAINING_SLOTS', 1),
    checkpointEvery: int('CHECKPOINT_EVERY', 50),
    eventsEveryMs: int('EVENTS_EVERY_MS', 2_000),
    executionProvider: parseExecutionProvider(env.EXECUTION_PROVIDER),
    enginePrecision: parseEnginePrecision(env.ENGINE_PRECISION),
  };
}

export interface RunningBackend {
  url: string;
  backendId: string;
  /** New at this start; the edge signs for it. Not a secret: only the edge's key signs. */
  bootId: string;
  /** Where the engine's sessions run. */
  executionProvider: ExecutionProvider;
  stop(): Promise<void>;
}

export async function startBackend(config: BackendConfig): Promise<RunningBackend> {
  const executionProvider = await useExecutionProvider(config.executionProvider);
  // Before anything starts: fp16 where it cannot run is a startup error that says what to set.
  useEnginePrecision(config.enginePrecision, executionProvider, swiftShaderInUse());
  const store = new ObjectStore(config.s3);
  const folders = new FolderCache(store, config.cacheDir);
  // Read when scraped, by which time `models` (told of cache events by `metrics`) exists.
  const metrics: BackendMetrics = new BackendMetrics({
    queued: () => models.schedulers.reduce((s, x) => s + x.queued, 0),
    batchRows: () => models.schedulers.reduce((s, x) => s + x.batchSize, 0),
    adapterBytes: () => models.adapterBytes,
    baseBytes: () => models.baseBytes,
    residency: () => ({
      adapters: models.loadedAdapters.length,
      pinnedAdapters: models.pinnedAdapters,
      pinnedBytes: models.pinnedBytes,
      models: models.loadedBases.length,
    }),
  });
  const models = new ModelCache(folders, {
    scheduler: config.scheduler,
    maxBaseBytes: config.modelCacheBytes,
    maxAdapters: config.maxAdapters,
    tokenizerLimits: config.tokenizerLimits,
    maxMixRank: config.maxMixRank,
    observer: metrics,
  });
  const inFlight = { count: 0 };
  const client = new EdgeClient(config.edgeUrl, config.token, config.backendId);
  const edgeKey = new EdgeKey(config.edgePublicKey);
  const bootId = newBootId();
  let heartbeat: HeartbeatSender | null = null;
  const jobs = new JobLoop(
    {
      client,
      store,
      folders,
      settings: { checkpointEvery: config.checkpointEvery, eventsEveryMs: config.eventsEveryMs, tokenizerLimits: config.tokenizerLimits },
    },
    {
      pollMs: config.jobPollMs,
      slots: config.trainingSlots,
      leaseTtlS: () => heartbeat?.leaseTtlS ?? LEASE_TTL_S,
      observer: metrics,
    },
  );
  const app = backendApp({
    edgeAuth: { backendId: config.backendId, bootId, edgeKey },
    models,
    inFlight,
    cancelJob: (kind, id) => jobs.cancel(kind, id),
    wakeJobs: () => jobs.claimSoon(),
    metrics: { text: () => metrics.text(), contentType: metrics.contentType, token: config.metricsToken, open: config.local },
    readiness: async () => ({
      // Any answer, found or not, means the bucket is reachable.
      storage: await store.head('.rankgate-readiness').then(
        () => true,
        () => false,
      ),
      edge: heartbeat !== null && Date.now() - heartbeat.lastAckAt < 3 * config.heartbeatEveryMs,
    }),
  });

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  const port = (server.address() as AddressInfo).port;
  const url = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  heartbeat = new HeartbeatSender(
    client,
    () => ({ url, capacity: config.capacity, in_flight: inFlight.count, loaded_adapters: models.loadedAdapters, boot_id: bootId }),
    config.heartbeatEveryMs,
    (ack) => {
      if (ack.edge_public_key && !edgeKey.learn(ack.edge_public_key))
        console.warn('backend: the edge announced a signing key other than EDGE_PUBLIC_KEY; keeping EDGE_PUBLIC_KEY.');
      // An edge from before pins sends none: nothing is pinned then.
      const pins = PinnedTargets.safeParse(ack.pinned ?? []);
      if (pins.success) void models.keepPinned(pins.data);
      else console.warn('backend: the heartbeat answer carried malformed pins; keeping the ones held.');
    },
  );
  // Registered before claiming, so the edge knows where to push cancels for what this backend claims.
  await heartbeat.beat();
  heartbeat.start();
  jobs.start();

  return {
    url,
    backendId: config.backendId,
    bootId,
    executionProvider,
    async stop() {
      heartbeat?.stop();
      await jobs.stop();
      await new Promise<void>((done) => {
        server.close(() => done());
        // Streams in progress end with the process; idle keep-alive sockets must not hold it open.
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}

async function main() {
  let config: BackendConfig;
  try {
    config = configFromEnv();
  } catch (err) {
    console.error(`backend: ${err instanceof Error ? err.message : err}`);
    process.exit(2);
  }
  if (!config.token)
    console.warn('backend: no BACKEND_TOKEN (local mode): the edge will refuse its heartbeats and claims until one is set.');
  // A stray rejection is a bug to log, not a reason to drop every request and job in flight.
  process.on('unhandledRejection', (err) => console.error('backend: unhandled rejection', err));
  const backend = await startBackend(config);
  console.log(
    `rankgate backend ${backend.backendId} listening on ${backend.url} (boot ${backend.bootId}, ${backend.executionProvider} execution provider, ${config.enginePrecision}, edge ${config.edgeUrl}, bucket ${config.s3.endpoint}/${config.s3.bucket}, cache ${config.cacheDir})`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await backend.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
