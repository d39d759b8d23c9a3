/**
 * The local edge stack: s3rver (the artifact bucket, seeded with the tiny-llama base model under
 * models/tiny-llama/), D1 with migrations/ applied, and `wrangler dev` serving the edge, so edits to edge/ reload
 * (EDGE_RUNTIME=miniflare serves a bundle through Miniflare instead, as `npm start` does: under load `wrangler dev`
 * fails some requests, scripts/miniflare-edge.ts). Everything has a default; see edge/README.md. Stops everything
 * on Ctrl-C (or SIGTERM).
 *
 *   node --import tsx scripts/dev-edge.ts      (npm run dev:edge)
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore } from '../contracts/storage/object-store.ts';
import { localStackSettings, root, startEdgeStack } from './edge-stack.ts';

const settings = localStackSettings();
const config = { ...settings, runtime: settings.runtime ?? ('wrangler-dev' as const) };

async function seedTinyLlama(store: ObjectStore) {
  if (await store.head('models/tiny-llama/config.json')) return;
  const dir = join(root, 'tests', 'fixtures', 'tiny-llama', 'base');
  for (const file of await readdir(dir)) await store.put(`models/tiny-llama/${file}`, await readFile(join(dir, file)));
}

const running = await startEdgeStack({ ...config, output: 'inherit' }).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  return process.exit(1);
});
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
ADMIN_TOKEN=${config.adminToken}
state:           ${config.stateDir}

Create a tenant:  curl -s ${url}/admin/v1/tenants -H 'authorization: Bearer ${config.adminToken}' -H 'content-type: application/json' -d '{"name":"me"}'
Issue a backend its credential (then run it with BACKEND_ID, BACKEND_TOKEN and RANKGATE_LOCAL=1, EDGE_URL=${url}):
                  curl -s ${url}/admin/v1/backend-credentials -H 'authorization: Bearer ${config.adminToken}' -H 'content-type: application/json' -d '{"backend_id":"local-backend"}'
`);
