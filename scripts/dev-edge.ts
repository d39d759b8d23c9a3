/**
 * The local edge stack: s3rver (the artifact bucket, seeded with the tiny-llama base model under
 * models/tiny-llama/), D1 with migrations/ applied, and `wrangler dev` serving the edge. Everything has a
 * default; see edge/README.md. Stops everything on Ctrl-C (or SIGTERM).
 *
 *   node --import tsx scripts/dev-edge.ts      (npm run dev:edge)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalS3 } from '../gpu-backend/storage/local-s3rver.ts';
import { ObjectStore } from '../gpu-backend/storage/object-store.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const config = {
  edgePort: Number(process.env.EDGE_PORT ?? 8787),
  s3Port: Number(process.env.S3_PORT ?? 4569),
  bucket: process.env.S3_BUCKET ?? 'rankgate',
  stateDir: resolve(root, process.env.RANKGATE_STATE_DIR ?? '.rankgate'),
  adminToken: process.env.ADMIN_TOKEN ?? 'dev-admin-token',
  backendSecret: process.env.BACKEND_SECRET ?? 'dev-backend-secret',
};

// Wrangler offline, without prompts or network lookups (see PLATFORM.md).
const wranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
};
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
const persist = join(config.stateDir, 'wrangler');

async function seedTinyLlama(store: ObjectStore) {
  if (await store.head('models/tiny-llama/config.json')) return;
  const dir = join(root, 'tests', 'fixtures', 'tiny-llama', 'base');
  for (const file of await readdir(dir)) await store.put(`models/tiny-llama/${file}`, await readFile(join(dir, file)));
}

function run(args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(wrangler, args, { cwd: root, env: wranglerEnv, stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`wrangler ${args.join(' ')} exited with ${code}`))));
  });
}

async function waitForEdge(url: string, child: ChildProcess) {
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    const up = await fetch(`${url}/v1/models`).then((r) => r.status === 401, () => false);
    if (up) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the edge did not answer on ${url} within a minute`);
}

const s3 = await startLocalS3({ bucket: config.bucket, port: config.s3Port, directory: join(config.stateDir, 's3') });
const store = new ObjectStore(s3.config);
await store.ensureBucket();
await seedTinyLlama(store);

await run(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist]);

const vars = {
  S3_ENDPOINT: s3.config.endpoint,
  S3_BUCKET: config.bucket,
  S3_ACCESS_KEY_ID: s3.config.accessKeyId,
  S3_SECRET_ACCESS_KEY: s3.config.secretAccessKey,
  ADMIN_TOKEN: config.adminToken,
  BACKEND_SECRET: config.backendSecret,
};
// Its own process group (like setsid): stopping npx/wrangler alone would leave workerd running.
const edge = spawn(
  wrangler,
  ['dev', '--port', String(config.edgePort), '--ip', '127.0.0.1', '--persist-to', persist, ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
  { cwd: root, env: wranglerEnv, stdio: 'inherit', detached: true },
);

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  if (edge.pid && edge.exitCode === null) {
    try {
      process.kill(-edge.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  await s3.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
edge.on('exit', (code) => void stop(code ?? 1));

const url = `http://127.0.0.1:${config.edgePort}`;
try {
  await waitForEdge(url, edge);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await stop(1);
}
console.log(`
rankgate edge:   ${url}
bucket (s3rver): ${s3.config.endpoint}/${config.bucket}  (keys ${s3.config.accessKeyId}/${s3.config.secretAccessKey}; tiny-llama at models/tiny-llama/)
ADMIN_TOKEN=${config.adminToken}  BACKEND_SECRET=${config.backendSecret}
state:           ${config.stateDir}

Create a tenant:  curl -s ${url}/admin/v1/tenants -H 'authorization: Bearer ${config.adminToken}' -H 'content-type: application/json' -d '{"name":"me"}'
`);
