/**
 * The edge on this machine: s3rver (the artifact bucket), D1 with migrations/ applied, and the Worker served by
 * Miniflare (scripts/miniflare-edge.ts, the bundle `wrangler deploy --dry-run` writes) or by `wrangler dev`.
 * Used by `npm run dev:edge`, `npm start`, the end-to-end tests and the serve bench. Miniflare is the default:
 * `wrangler dev` answers some requests under load with a false 503 "Your worker restarted mid-request" (issue 16,
 * scripts/miniflare-edge.ts says why); it stays for `npm run dev:edge`, which reloads on edits. Either server
 * runs in its own process group (killing npx/wrangler alone leaves workerd running, docs/PLATFORM.md), and stop()
 * waits until that whole group is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newSigningKey } from '../contracts/api/edge-signature.ts';
import { startLocalS3, type LocalS3 } from '../gpu-backend/storage/local-s3rver.ts';
import { ObjectStore } from '../contracts/storage/object-store.ts';
import type { MiniflareEdgeSettings } from './miniflare-edge.ts';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** What serves the Worker: Miniflare on a bundle (no reload), or `wrangler dev` (reloads on edits). */
export type EdgeRuntime = 'miniflare' | 'wrangler-dev';

export interface EdgeStackOptions {
  /** 'miniflare' when absent. */
  runtime?: EdgeRuntime;
  /** 0 picks free ports. */
  edgePort: number;
  s3Port: number;
  bucket: string;
  /** wrangler's local D1 (under wrangler/) and the bucket's files (under s3/). */
  stateDir: string;
  adminToken: string;
  /** EDGE_SIGNING_KEY; a fresh one when absent (backends learn its public key from their heartbeat answers). */
  signingKey?: string | null;
  /** 'inherit' shows wrangler's output; 'buffer' keeps its tail for error messages (tests). */
  output: 'inherit' | 'buffer';
  /** More Worker vars, e.g. LEASE_TTL_S. */
  vars?: Record<string, string>;
  /** Also append wrangler's output to this file. */
  logFile?: string;
}

export interface EdgeStack {
  edgeUrl: string;
  s3: LocalS3;
  store: ObjectStore;
  /** wrangler's recent output (with output: 'buffer'). */
  logs(): string;
  /** Resolves when wrangler exits on its own (not after stop()). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** A backend's bucket settings for this stack's local S3 (its S3_* environment). */
export function backendBucketEnv(edge: Pick<EdgeStack, 's3'>): Record<string, string> {
  const { endpoint, bucket, accessKeyId, secretAccessKey } = edge.s3.config;
  return { S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey };
}

/** The local stack's settings (edge/README.md): the environment over defaults. */
export function localStackSettings(env: NodeJS.ProcessEnv = process.env) {
  return {
    edgePort: Number(env.EDGE_PORT ?? 8787),
    s3Port: Number(env.S3_PORT ?? 4569),
    bucket: env.S3_BUCKET ?? 'rankgate',
    stateDir: resolve(root, env.RANKGATE_STATE_DIR ?? '.rankgate'),
    adminToken: env.ADMIN_TOKEN ?? 'dev-admin-token',
    signingKey: env.EDGE_SIGNING_KEY ?? null,
    runtime: edgeRuntime(env.EDGE_RUNTIME),
  };
}

export function edgeRuntime(name: string | undefined): EdgeRuntime | undefined {
  if (name === undefined || name === '') return undefined;
  if (name === 'miniflare' || name === 'wrangler-dev') return name;
  throw new Error(`EDGE_RUNTIME must be miniflare or wrangler-dev, not ${name}`);
}

// Wrangler offline, without prompts or network lookups (see docs/PLATFORM.md).
const wranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
};
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');

/** A loopback port free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Keeps the last `max` characters of a process's output (and appends all of it to `file`, when given). */
function tail(file?: string, max = 20_000) {
  let text = '';
  const out = file ? createWriteStream(file, { flags: 'a' }) : null;
  return {
    add: (chunk: Buffer) => {
      out?.write(chunk);
      text = (text + chunk.toString('utf8')).slice(-max);
    },
    get: () => text,
    close: () => out?.end(),
  };
}

function runWrangler(args: string[], output: EdgeStackOptions['output'], log: ReturnType<typeof tail>): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(wrangler, args, { cwd: root, env: wranglerEnv, stdio: output === 'inherit' ? 'inherit' : 'pipe' });
    child.stdout?.on('data', log.add);
    child.stderr?.on('data', log.add);
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`wrangler ${args.join(' ')} exited with ${code}\n${log.get()}`))));
  });
}

async function waitForEdge(url: string, child: ChildProcess, log: ReturnType<typeof tail>) {
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the edge's server exited with ${child.exitCode ?? child.signalCode}\n${log.get()}`);
    const up = await fetch(`${url}/v1/models`).then(
      (r) => r.status === 401,
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the edge did not answer on ${url} within a minute\n${log.get()}`);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole group, SIGKILL to what is left after a few seconds; resolves when the group is gone. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid;
  if (!pgid) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pgid, s);
    } catch {
      // Gone already.
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 100 && groupAlive(pgid); i++) {
    if (i === 50) signal('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ServeOptions {
  persist: string;
  edgePort: number;
  vars: Record<string, string>;
  output: EdgeStackOptions['output'];
}

/** `wrangler dev`, its own process group: reloads the Worker when edge/ changes. */
async function spawnWranglerDev({ persist, edgePort, vars, output }: ServeOptions): Promise<ChildProcess> {
  // Its own inspector port, so stacks side by side (tests) do not fight over 9229.
  const inspectorPort = await freePort();
  return spawn(
    wrangler,
    [
      'dev',
      '--port',
      String(edgePort),
      '--ip',
      '127.0.0.1',
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      persist,
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ],
    { cwd: root, env: wranglerEnv, stdio: output === 'inherit' ? 'inherit' : 'pipe', detached: true },
  );
}

/**
 * Bundles the Worker as `wrangler deploy` would (wrangler.toml's alias and nodejs_compat applied) into the state
 * folder, then serves it with scripts/miniflare-edge.ts in its own process group.
 */
async function spawnMiniflare(opts: ServeOptions & { stateDir: string; log: ReturnType<typeof tail> }): Promise<ChildProcess> {
  const bundleDir = join(opts.stateDir, 'edge-bundle');
  await runWrangler(['deploy', '--dry-run', '--outdir', bundleDir], opts.output, opts.log);
  const settings: MiniflareEdgeSettings = { bundleDir, persistTo: opts.persist, host: '127.0.0.1', port: opts.edgePort, vars: opts.vars };
  return spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'miniflare-edge.ts')], {
    cwd: root,
    env: { ...wranglerEnv, MINIFLARE_EDGE: JSON.stringify(settings) },
    stdio: opts.output === 'inherit' ? 'inherit' : 'pipe',
    detached: true,
  });
}

export async function startEdgeStack(opts: EdgeStackOptions): Promise<EdgeStack> {
  await mkdir(opts.stateDir, { recursive: true });
  const log = tail(opts.logFile);
  const s3 = await startLocalS3({ bucket: opts.bucket, port: opts.s3Port, directory: join(opts.stateDir, 's3') });
  const store = new ObjectStore(s3.config);
  let edge: ChildProcess | null = null;
  try {
    await store.ensureBucket();
    const persist = join(opts.stateDir, 'wrangler');
    await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], opts.output, log);
    const edgePort = opts.edgePort || (await freePort());
    const vars = {
      S3_ENDPOINT: s3.config.endpoint,
      S3_BUCKET: opts.bucket,
      S3_ACCESS_KEY_ID: s3.config.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.config.secretAccessKey,
      ADMIN_TOKEN: opts.adminToken,
      EDGE_SIGNING_KEY: opts.signingKey ?? (await newSigningKey()).signingKey,
      // Backends on this machine heartbeat loopback URLs, which a production edge refuses.
      ALLOW_PRIVATE_BACKEND_URLS: 'true',
      ...opts.vars,
    };
    const runtime = opts.runtime ?? 'miniflare';
    edge =
      runtime === 'miniflare'
        ? await spawnMiniflare({ stateDir: opts.stateDir, persist, edgePort, vars, output: opts.output, log })
        : await spawnWranglerDev({ persist, edgePort, vars, output: opts.output });
    edge.stdout?.on('data', log.add);
    edge.stderr?.on('data', log.add);
    const edgeUrl = `http://127.0.0.1:${edgePort}`;
    await waitForEdge(edgeUrl, edge, log);
    const child = edge;
    let stopping = false;
    return {
      edgeUrl,
      s3,
      store,
      logs: log.get,
      exited: new Promise((r) => child.once('exit', (code) => !stopping && r(code))),
      async stop() {
        stopping = true;
        await stopGroup(child);
        await s3.stop();
        log.close();
      },
    };
  } catch (err) {
    if (edge) await stopGroup(edge);
    await s3.stop();
    log.close();
    throw err;
  }
}
