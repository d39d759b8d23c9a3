/**
 * The backend process: serves OpenAI-style completions for the edge (serve/app.ts on @hono/node-server),
 * registers itself with heartbeats, and claims and runs fine-tuning jobs (worker/). Every setting has a
 * default that matches the local stack (scripts/dev-edge.ts); the environment overrides them.
 *
 *   node --import tsx gpu-backend/server.ts
 */
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { backendApp } from './serve/app.ts';
import { FolderCache } from './storage/folder-cache.ts';
import { ModelCache } from './serve/models.ts';
import { LEASE_TTL_S } from '../contracts/api/jobs.ts';
import { ObjectStore, type ObjectStoreConfig } from '../contracts/storage/object-store.ts';
import { EdgeClient } from './worker/edge-client.ts';
import { HeartbeatSender } from './worker/heartbeat.ts';
import { JobLoop } from './worker/job-loop.ts';

export interface BackendConfig {
  edgeUrl: string;
  secret: string;
  s3: ObjectStoreConfig;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Where the edge reaches this backend (default: http://<host>:<port>). */
  publicUrl: string | null;
  backendId: string;
  capacity: number;
  cacheDir: string;
  heartbeatEveryMs: number;
  jobPollMs: number;
  trainingSlots: number;
  checkpointEvery: number;
  eventsEveryMs: number;
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
  const stateDir = resolve(root, env.RANKGATE_STATE_DIR ?? '.rankgate');
  return {
    edgeUrl: env.EDGE_URL ?? 'http://127.0.0.1:8787',
    secret: env.BACKEND_SECRET ?? 'dev-backend-secret',
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
    capacity: int('CAPACITY', 32),
    cacheDir: resolve(env.CACHE_DIR ?? join(stateDir, 'backend-cache')),
    heartbeatEveryMs: int('HEARTBEAT_EVERY_MS', 10_000),
    // The variable keeps its first name (deployments set it); it is the wait between claims of jobs.
    jobPollMs: int('TASK_POLL_MS', 2_000),
    trainingSlots: int('TRAINING_SLOTS', 1),
    checkpointEvery: int('CHECKPOINT_EVERY', 50),
    eventsEveryMs: int('EVENTS_EVERY_MS', 2_000),
  };
}

export interface RunningBackend {
  url: string;
  backendId: string;
  stop(): Promise<void>;
}

export async function startBackend(config: BackendConfig): Promise<RunningBackend> {
  const store = new ObjectStore(config.s3);
  const folders = new FolderCache(store, config.cacheDir);
  const models = new ModelCache(folders, { scheduler: { maxBatch: config.capacity } });
  const inFlight = { count: 0 };
  const client = new EdgeClient(config.edgeUrl, config.secret, config.backendId);
  let heartbeat: HeartbeatSender | null = null;
  const jobs = new JobLoop(
    { client, store, folders, settings: { checkpointEvery: config.checkpointEvery, eventsEveryMs: config.eventsEveryMs } },
    { pollMs: config.jobPollMs, slots: config.trainingSlots, leaseTtlS: () => heartbeat?.leaseTtlS ?? LEASE_TTL_S },
  );
  const app = backendApp({ secret: config.secret, models, inFlight, cancelJob: (kind, id) => jobs.cancel(kind, id) });

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  const port = (server.address() as AddressInfo).port;
  const url = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  heartbeat = new HeartbeatSender(
    client,
    () => ({ url, capacity: config.capacity, in_flight: inFlight.count, loaded_adapters: models.loadedAdapters }),
    config.heartbeatEveryMs,
  );
  // Registered before claiming, so the edge knows where to push cancels for what this backend claims.
  await heartbeat.beat();
  heartbeat.start();
  jobs.start();

  return {
    url,
    backendId: config.backendId,
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
  // A stray rejection is a bug to log, not a reason to drop every request and job in flight.
  process.on('unhandledRejection', (err) => console.error('backend: unhandled rejection', err));
  const backend = await startBackend(config);
  console.log(
    `rankgate backend ${backend.backendId} listening on ${backend.url} (edge ${config.edgeUrl}, bucket ${config.s3.endpoint}/${config.s3.bucket}, cache ${config.cacheDir})`,
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
