/**
 * `npm run bench -- edge-rounds [--quick]`: issue 16's reproduction. Back-to-back rounds of 200 concurrent
 * streaming chats over the default model's six task adapters, against a stack like `npm start`'s (s3rver, D1, the
 * edge, one backend process) on loopback, once per edge runtime (EDGE_RUNTIMES, default "miniflare,wrangler-dev").
 * `wrangler dev` loses some of these to its proxy connection (503 "Your worker restarted mid-request",
 * scripts/miniflare-edge.ts); Miniflare should lose none. Five rounds (quick: two); every request is counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TASKS, examples, taskSlug } from '../gpu-backend/default-model/skills.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { startBackendProcess, type BackendProcess } from '../scripts/backend-process.ts';
import { bootstrap } from '../scripts/bootstrap.ts';
import { issueBackendCredential } from '../scripts/edge-api.ts';
import { backendBucketEnv, edgeRuntime, startEdgeStack, type EdgeRuntime, type EdgeStack } from '../scripts/edge-stack.ts';
import { embeddedModel } from '../scripts/embedded-model.ts';
import { readStream } from './serve-load.ts';

const ADMIN_TOKEN = 'bench-admin-token';
const BACKEND_ID = 'bench-backend';
const CONCURRENT = 200;

interface Rounds {
  runtime: EdgeRuntime;
  rounds: number;
  requests: number;
  errors: number;
  /** Errors by what they said (status and message), to tell the restart 503 from anything else. */
  errorKinds: Record<string, number>;
  seconds: number;
}

/** One chat, streamed and read to its end; null when it answered 200 and ended in [DONE] with no error chunk. */
async function oneChat(edgeUrl: string, key: string, body: Record<string, unknown>): Promise<string | null> {
  try {
    const res = await fetch(`${edgeUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
      signal: AbortSignal.timeout(300_000),
    });
    if (res.status !== 200) return `${res.status} ${(await res.text()).slice(0, 120)}`;
    const out = await readStream(res, performance.now());
    if (out.error) return `stream error: ${out.error}`;
    return out.done ? null : 'stream ended without [DONE]';
  } catch (err) {
    return `fetch failed: ${err instanceof Error ? (err.cause ?? err.message) : err}`;
  }
}

async function roundsOn(runtime: EdgeRuntime, rounds: number): Promise<Rounds> {
  const stateDir = await mkdtemp(join(tmpdir(), `rankgate-bench-rounds-${runtime}-`));
  let edge: EdgeStack | null = null;
  let backend: BackendProcess | null = null;
  try {
    edge = await startEdgeStack({ runtime, edgePort: 0, s3Port: 0, bucket: 'bench', stateDir, adminToken: ADMIN_TOKEN, output: 'buffer' });
    const { token } = await issueBackendCredential(edge.edgeUrl, ADMIN_TOKEN, BACKEND_ID);
    backend = await startBackendProcess(
      {
        EDGE_URL: edge.edgeUrl,
        RANKGATE_LOCAL: '1',
        BACKEND_ID,
        BACKEND_TOKEN: token,
        ...backendBucketEnv(edge),
        PORT: '0',
        CACHE_DIR: join(stateDir, 'backend-cache'),
      },
      'buffer',
    );
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
    const body = (c: number) => {
      const t = c % tasks.length;
      return {
        model: `${model.name}:${taskSlug(tasks[t])}`,
        messages: [{ role: 'user', content: prompts[t][c % prompts[t].length] }],
        max_tokens: 16,
        temperature: 0,
      };
    };
    // Warm-up, not counted: the model and every adapter loaded.
    for (let t = 0; t < tasks.length; t++) await oneChat(edge.edgeUrl, ready.api.key, body(t));
    const errorKinds: Record<string, number> = {};
    let errors = 0;
    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, c) => oneChat(edge!.edgeUrl, ready.api.key, body(c))));
      const failed = answers.filter((a): a is string => a !== null);
      for (const a of failed) errorKinds[a] = (errorKinds[a] ?? 0) + 1;
      errors += failed.length;
      console.log(
        `${runtime}: round ${r + 1}/${rounds}: ${failed.length} of ${CONCURRENT} failed${failed.length ? `, e.g. ${failed[0]}` : ''}`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    return { runtime, rounds, requests: rounds * CONCURRENT, errors, errorKinds, seconds };
  } finally {
    await backend?.stop();
    await edge?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const runtimes = (process.env.EDGE_RUNTIMES ?? 'miniflare,wrangler-dev').split(',').map((r) => edgeRuntime(r.trim())!);
  const results: Rounds[] = [];
  for (const runtime of runtimes) results.push(await roundsOn(runtime, quick ? 2 : 5));
  for (const r of results) {
    console.log(
      `${r.runtime}: ${r.errors} errors in ${r.requests} streams (${r.rounds} rounds of ${CONCURRENT}, ${r.seconds.toFixed(0)} s)`,
    );
    for (const [kind, n] of Object.entries(r.errorKinds)) console.log(`  ${n} × ${kind}`);
  }
  return { concurrent: CONCURRENT, runs: results };
}
