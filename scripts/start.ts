/**
 * `npm start`: the whole local stack on its embedded defaults. s3rver and D1 (state in .rankgate/), the edge
 * (Miniflare serving the Worker's bundle, scripts/edge-stack.ts), one backend server, and a bootstrap that leaves a tenant, an API key, the embedded model
 * and its adapters ready to call. Prints the key and curl commands to paste. Ctrl-C stops all of it.
 * Settings: the edge's (edge/README.md: EDGE_PORT, S3_PORT, S3_BUCKET, ADMIN_TOKEN, EDGE_SIGNING_KEY,
 * RANKGATE_STATE_DIR, LEASE_TTL_S, EDGE_RUNTIME) and BACKEND_PORT (8788). The backend is restarted, with backoff, when it exits. The backend gets a credential issued through the operator's
 * route at each start (older ones of the same backend are revoked), and runs in local mode (RANKGATE_LOCAL=1).
 *
 *   node --import tsx scripts/start.ts      (npm start)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { examples, TASKS } from '../gpu-backend/default-model/skills.ts';
import { startBackendProcess } from './backend-process.ts';
import { superviseBackend, type SupervisedBackend } from './supervised-backend.ts';
import { bootstrap } from './bootstrap.ts';
import { issueBackendCredential, revokeOtherCredentials } from './edge-api.ts';
import { backendBucketEnv, localStackSettings, startEdgeStack, type EdgeStack } from './edge-stack.ts';
import { embeddedModel } from './embedded-model.ts';

// Informational only (support for Node 20 in later SDK versions); it would open every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const config = { ...localStackSettings(), backendPort: Number(process.env.BACKEND_PORT ?? 8788) };
const log = (line: string) => console.log(`[start] ${line}`);
/** A path as short as it can be written from here. */
const shown = (path: string) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path) || '.');

let edge: EdgeStack | null = null;
let backend: SupervisedBackend | null = null;
let stopping: Promise<void> | null = null;

/** Stops the backend and the edge; a second Ctrl-C (or npm's SIGTERM) waits for the same stop. */
async function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    log('stopping…');
    await backend?.stop();
    await edge?.stop();
  })();
  await stopping;
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

/** A small training file for the fine-tuning example (one of the default model's string tasks). */
async function exampleTrainingFile(): Promise<string> {
  const path = join(config.stateDir, 'examples', 'train.jsonl');
  await mkdir(join(config.stateDir, 'examples'), { recursive: true });
  await writeFile(
    path,
    examples(TASKS[0], 64, rng(5))
      .map((e) => JSON.stringify(e))
      .join('\n') + '\n',
  );
  return path;
}

function usage(edgeUrl: string, key: string, models: string[], prompt: string, trainingFile: string): string {
  const auth = `-H "authorization: Bearer $RANKGATE_API_KEY"`;
  const json = `-H 'content-type: application/json'`;
  const adapter = models[1] ?? models[0];
  const base = models[0];
  const readId = `node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).id'`;
  const body = (o: unknown) => `'${JSON.stringify(o).replace(/'/g, `'\\''`)}'`;
  return `
rankgate is up.
  edge     ${edgeUrl}
  backend  ${backend!.current().url}
  bucket   ${edge!.s3.config.endpoint}/${config.bucket}  (s3rver, for development only: it checks no request signatures; R2 and S3 do in deployment)
  console  ${edgeUrl}/console  (sign in with the key below)
  state    ${shown(config.stateDir)}/  (edge.log: the edge's requests; delete the folder to start over)

Models: ${models.join(', ')}

export RANKGATE_BASE_URL=${edgeUrl}
export RANKGATE_API_KEY=${key}

# A completion through an adapter (add "stream": true for server-sent events)
curl -s $RANKGATE_BASE_URL/v1/completions ${auth} ${json} \\
  -d ${body({ model: adapter, prompt, max_tokens: 32, temperature: 0 })}

# Chat with the base model
curl -s $RANKGATE_BASE_URL/v1/chat/completions ${auth} ${json} \\
  -d ${body({ model: base, messages: [{ role: 'user', content: prompt.trim() }], max_tokens: 32 })}

# Fine-tune an adapter on a JSONL file, watch it, then call it
FILE=$(curl -s $RANKGATE_BASE_URL/v1/files ${auth} -F purpose=fine-tune -F file=@${shown(trainingFile)} | ${readId})
JOB=$(curl -s $RANKGATE_BASE_URL/v1/fine_tuning/jobs ${auth} ${json} \\
  -d "{\\"model\\":\\"${base}\\",\\"training_file\\":\\"$FILE\\",\\"suffix\\":\\"mine\\",\\"hyperparameters\\":{\\"n_epochs\\":2,\\"learning_rate\\":0.001}}" | ${readId})
curl -s "$RANKGATE_BASE_URL/v1/fine_tuning/jobs/$JOB/events?limit=5" ${auth}
curl -s $RANKGATE_BASE_URL/v1/fine_tuning/jobs/$JOB ${auth}     # "fine_tuned_model" is the model id once it succeeded

# The same with the rankgate CLI (it reads RANKGATE_BASE_URL and RANKGATE_API_KEY)
npx rankgate chat --model ${base} '${prompt.trim().replace(/'/g, `'\\''`)}'
npx rankgate jobs create --model ${base} --training-file $FILE --watch

Ctrl-C stops everything.`;
}

try {
  const model = await embeddedModel();
  if (model.name !== 'rankgate-tiny') log('models/rankgate-tiny is not generated yet; serving the tiny-llama test fixture instead.');
  log(`starting the edge (s3rver, D1, ${config.runtime ?? 'miniflare'}) with state in ${config.stateDir}`);
  // LEASE_TTL_S shortens how long a dead backend's jobs wait before another run takes them (the edge's default: 120 s).
  const vars = process.env.LEASE_TTL_S ? { LEASE_TTL_S: process.env.LEASE_TTL_S } : undefined;
  edge = await startEdgeStack({ ...config, output: 'buffer', logFile: join(config.stateDir, 'edge.log'), vars });
  void edge.exited.then((code) => {
    console.error(`[start] the edge's server exited (${code}):\n${edge?.logs().slice(-4000)}`);
    void stop(1);
  });
  log('starting the backend');
  const backendId = 'local-backend';
  const credential = await issueBackendCredential(edge.edgeUrl, config.adminToken, backendId);
  await revokeOtherCredentials(edge.edgeUrl, config.adminToken, backendId, credential.id);
  const backendEnv = {
    EDGE_URL: edge.edgeUrl,
    RANKGATE_LOCAL: '1',
    BACKEND_ID: backendId,
    BACKEND_TOKEN: credential.token,
    ...backendBucketEnv(edge),
    PORT: String(config.backendPort),
    RANKGATE_STATE_DIR: config.stateDir,
  };
  // Restarted when it exits, as an orchestrator would: a crash costs its requests in flight, not the whole stack.
  backend = await superviseBackend(() => startBackendProcess(backendEnv, 'inherit'), log);
  log(`the backend runs as pid ${backend.current().child.pid}; if it exits it is started again.`);
  const ready = await bootstrap({
    edgeUrl: edge.edgeUrl,
    adminToken: config.adminToken,
    stateFile: join(config.stateDir, 'local-tenant.json'),
    store: edge.store,
    model,
    log,
  });
  const adapter = ready.models[1]?.split(':')[1] ?? '';
  console.log(usage(edge.edgeUrl, ready.api.key, ready.models, model.examplePrompt(adapter), await exampleTrainingFile()));
} catch (err) {
  console.error(`[start] ${err instanceof Error ? err.message : err}`);
  if (edge) console.error(`--- edge ---\n${edge.logs().slice(-4000)}`);
  await stop(1);
}
