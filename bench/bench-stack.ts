/**
 * The stack the serve and edge-rounds benchmarks drive, like `npm start`'s on loopback: s3rver and the edge
 * (scripts/edge-stack.ts), one backend process holding a credential, the default model and its task adapters
 * bootstrapped for one tenant. `withBenchStack` starts it, runs the benchmark, and stops it and removes its state
 * whatever the benchmark did.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { examples, TASKS, taskSlug, type Skill } from '../gpu-backend/default-model/skills.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { startBackendProcess, type BackendProcess } from '../scripts/backend-process.ts';
import { bootstrap, type Bootstrapped } from '../scripts/bootstrap.ts';
import { issueBackendCredential } from '../scripts/edge-api.ts';
import { backendBucketEnv, startEdgeStack, type EdgeRuntime, type EdgeStack } from '../scripts/edge-stack.ts';
import { embeddedModel, type EmbeddedModel } from '../scripts/embedded-model.ts';

export const ADMIN_TOKEN = 'bench-admin-token';
export const BACKEND_ID = 'bench-backend';

export interface BenchStackOptions {
  runtime: EdgeRuntime;
  /** The state folder's name in the temporary folder (a random suffix follows). */
  name: string;
  /** EDGE_SIGNING_KEY (the serve benchmark signs requests straight to the backend with it); fresh when absent. */
  signingKey?: string;
  /** More backend settings. */
  backendEnv?: Record<string, string>;
}

export interface BenchStack {
  edge: EdgeStack;
  backend: BackendProcess;
  stateDir: string;
  model: EmbeddedModel;
  ready: Bootstrapped;
  /** The default model's tasks that have an adapter, and 50 prompts of each (the same for every run). */
  tasks: Skill[];
  prompts: string[][];
}

/** s3rver and the edge, then one backend process holding a credential; the edge is stopped again if the backend fails to start. */
export async function startEdgeAndBackend(opts: {
  runtime?: EdgeRuntime;
  stateDir: string;
  signingKey?: string;
  backendEnv?: Record<string, string>;
}): Promise<{ edge: EdgeStack; backend: BackendProcess }> {
  const { stateDir } = opts;
  const edge = await startEdgeStack({
    runtime: opts.runtime,
    edgePort: 0,
    s3Port: 0,
    bucket: 'bench',
    stateDir,
    adminToken: ADMIN_TOKEN,
    signingKey: opts.signingKey,
    output: 'buffer',
  });
  try {
    return { edge, backend: await startBenchBackend(edge, stateDir, opts.backendEnv) };
  } catch (err) {
    await edge.stop();
    throw err;
  }
}

/**
 * The bench's backend process on a running edge, with a fresh credential: a second start after `stop()` is a new
 * process on the same model cache (bench scale serves from one that did not run the quantization job).
 */
export async function startBenchBackend(
  edge: EdgeStack,
  stateDir: string,
  backendEnv?: Record<string, string>,
  /** Another checkout whose backend to run (bench first-decode compares commits). */
  from?: string,
): Promise<BackendProcess> {
  const { token } = await issueBackendCredential(edge.edgeUrl, ADMIN_TOKEN, BACKEND_ID);
  return startBackendProcess(
    {
      EDGE_URL: edge.edgeUrl,
      RANKGATE_LOCAL: '1',
      BACKEND_ID,
      BACKEND_TOKEN: token,
      ...backendBucketEnv(edge),
      PORT: '0',
      CACHE_DIR: join(stateDir, 'backend-cache'),
      ...backendEnv,
    },
    'buffer',
    from,
  );
}

export async function withBenchStack<T>(opts: BenchStackOptions, bench: (stack: BenchStack) => Promise<T>): Promise<T> {
  const stateDir = await mkdtemp(join(tmpdir(), `${opts.name}-`));
  let edge: EdgeStack | null = null;
  let backend: BackendProcess | null = null;
  try {
    ({ edge, backend } = await startEdgeAndBackend({ ...opts, stateDir }));
    const model = await embeddedModel();
    const ready = await bootstrap({
      edgeUrl: edge.edgeUrl,
      adminToken: ADMIN_TOKEN,
      stateFile: join(stateDir, 'tenant.json'),
      store: edge.store,
      model,
      log: () => {},
    });
    const tasks = TASKS.filter((t) => ready.models.includes(`${model.name}:${taskSlug(t)}`));
    const prompts = tasks.map((t, i) => examples(t, 50, rng(100 + i)).map((e) => e.prompt.trim()));
    return await bench({ edge, backend, stateDir, model, ready, tasks, prompts });
  } finally {
    await backend?.stop();
    await edge?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
