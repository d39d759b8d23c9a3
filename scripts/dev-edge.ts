/**
 * The local edge stack: s3rver (the artifact bucket, seeded with the tiny-llama base model under
 * models/tiny-llama/), D1 with migrations/ applied, and `wrangler dev` serving the edge. Everything has a
 * default; see edge/README.md. Stops everything on Ctrl-C (or SIGTERM).
 *
 *   node --import tsx scripts/dev-edge.ts      (npm run dev:edge)
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ObjectStore } from '../gpu-backend/storage/object-store.ts';
import { root, startEdgeStack } from './edge-stack.ts';

const config = {
  edgePort: Number(process.env.EDGE_PORT ?? 8787),
  s3Port: Number(process.env.S3_PORT ?? 4569),
  bucket: process.env.S3_BUCKET ?? 'rankgate',
  stateDir: resolve(root, process.env.RANKGATE_STATE_DIR ?? '.rankgate'),
  adminToken: process.env.ADMIN_TOKEN ?? 'dev-admin-token',
  backendSecret: process.env.BACKEND_SECRET ?? 'dev-backend-secret',
};

async function seedTinyLlama(store: ObjectStore) {
  if (await store.head('models/tiny-llama/config.json')) return;
  const dir = join(root, 'tests', 'fixtures', 'tiny-llama', 'base');
  for (const file of await readdir(dir)) await store.put(`models/tiny-llama/${file}`, await readFile(join(dir, file)));
}

let stack;
try {
  stack = await startEdgeStack({ ...config, output: 'inherit' });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
const running = stack;
await seedTinyLlama(running.store);

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  await running.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
void running.exited.then((code) => stop(code ?? 1));

const { edgeUrl: url, s3 } = running;
console.log(`
rankgate edge:   ${url}
bucket (s3rver): ${s3.config.endpoint}/${config.bucket}  (keys ${s3.config.accessKeyId}/${s3.config.secretAccessKey}; tiny-llama at models/tiny-llama/)
ADMIN_TOKEN=${config.adminToken}  BACKEND_SECRET=${config.backendSecret}
state:           ${config.stateDir}

Create a tenant:  curl -s ${url}/admin/v1/tenants -H 'authorization: Bearer ${config.adminToken}' -H 'content-type: application/json' -d '{"name":"me"}'
`);
