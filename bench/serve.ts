/**
 * `npm run bench -- serve [--quick]`: serving under load, on a stack the bench starts itself (s3rver, the edge in
 * `wrangler dev`, one backend process), with closed-loop streaming chat clients on loopback (serve-load.ts).
 *  - Through the edge: the default model, 64 clients over its six task adapters, 60 s (quick: 16 clients, 10 s).
 *  - Straight to the backend (requests signed as the edge signs them): a SmolLM2-135M-shaped model, 64 clients
 *    over 32 adapters with Zipf popularity, against the same load over one adapter, 30 s each (quick: 16, 10 s).
 * Reports throughput, time to first token and per-token latency (p50/p99), errors, and the backend's RSS before
 * and after each run. The clients share the machine with the stack, as they would on one host.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeSigner, newSigningKey } from '../contracts/api/edge-signature.ts';
import { TASKS, examples, taskSlug } from '../gpu-backend/default-model/skills.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { startBackendProcess, type BackendProcess } from '../scripts/backend-process.ts';
import { bootstrap } from '../scripts/bootstrap.ts';
import { issueBackendCredential } from '../scripts/edge-api.ts';
import { startEdgeStack, type EdgeStack } from '../scripts/edge-stack.ts';
import { embeddedModel } from '../scripts/embedded-model.ts';
import { table } from './measure.ts';
import { runLoad, zipf, type LoadResult } from './serve-load.ts';
import { putRandomAdapters, putRandomModel } from './serve-model.ts';

const ADMIN_TOKEN = 'bench-admin-token';
const BACKEND_ID = 'bench-backend';

/** Resident memory of a process, in MB (Linux /proc). */
async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

interface Run extends LoadResult {
  name: string;
  clients: number;
  rssStartMb: number;
  rssEndMb: number;
}

/** One short request, read to the end: loads what `body` names before the clock starts. */
async function warm(send: (body: Record<string, unknown>, signal: AbortSignal) => Promise<Response>, body: Record<string, unknown>) {
  const res = await send({ ...body, max_tokens: 1 }, AbortSignal.timeout(300_000));
  if (res.status !== 200) throw new Error(`warm-up request failed: ${res.status} ${await res.text()}`);
  await res.text();
}

async function measured(name: string, backend: BackendProcess, clients: number, load: () => Promise<LoadResult>): Promise<Run> {
  const pid = backend.child.pid!;
  const rssStartMb = await rssMb(pid);
  const result = await load();
  const rssEndMb = await rssMb(pid);
  const run = { name, clients, rssStartMb, rssEndMb, ...result };
  console.log(
    `${name}: ${result.requests} requests, ${result.errors} errors, ${result.tokensPerS.toFixed(0)} tokens/s, TTFT p50 ${result.ttftMs.p50.toFixed(0)} ms p99 ${result.ttftMs.p99.toFixed(0)} ms`,
  );
  for (const e of result.errorSamples) console.log(`  error: ${e}`);
  return run;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const [edgeClients, edgeSeconds] = quick ? [16, 10] : [64, 60];
  const [directClients, directSeconds] = quick ? [16, 10] : [64, 30];
  const stateDir = await mkdtemp(join(tmpdir(), 'rankgate-bench-serve-'));
  const { signingKey } = await newSigningKey();
  let edge: EdgeStack | null = null;
  let backend: BackendProcess | null = null;
  try {
    edge = await startEdgeStack({
      edgePort: 0,
      s3Port: 0,
      bucket: 'bench',
      stateDir,
      adminToken: ADMIN_TOKEN,
      signingKey,
      output: 'buffer',
    });
    const { token } = await issueBackendCredential(edge.edgeUrl, ADMIN_TOKEN, BACKEND_ID);
    backend = await startBackendProcess(
      {
        EDGE_URL: edge.edgeUrl,
        RANKGATE_LOCAL: '1',
        BACKEND_ID,
        BACKEND_TOKEN: token,
        S3_ENDPOINT: edge.s3.config.endpoint,
        S3_BUCKET: edge.s3.config.bucket,
        S3_ACCESS_KEY_ID: edge.s3.config.accessKeyId,
        S3_SECRET_ACCESS_KEY: edge.s3.config.secretAccessKey,
        PORT: '0',
        CACHE_DIR: join(stateDir, 'backend-cache'),
        HEARTBEAT_EVERY_MS: '2000',
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
    const api = ready.api;

    // Through the edge: each client cycles through the six tasks with prompts of that task.
    const tasks = TASKS.filter((t) => ready.models.includes(`${model.name}:${taskSlug(t)}`));
    const prompts = tasks.map((t, i) => examples(t, 50, rng(100 + i)).map((e) => e.prompt.trim()));
    const edgeRequest = (c: number, k: number) => {
      const t = (c + k) % tasks.length;
      return {
        body: {
          model: `${model.name}:${taskSlug(tasks[t])}`,
          messages: [{ role: 'user', content: prompts[t][(c * 7 + k) % prompts[t].length] }],
          max_tokens: 32,
          temperature: 0,
        },
      };
    };
    const viaEdge = (body: Record<string, unknown>, signal: AbortSignal) =>
      fetch(`${edge!.edgeUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
    // Warm-up: the model and every adapter loaded, the edge's caches filled.
    for (let t = 0; t < tasks.length; t++) await warm(viaEdge, edgeRequest(t, 0).body);
    const edgeRun = await measured('edge, 6 adapters', backend, edgeClients, () =>
      runLoad({ clients: edgeClients, seconds: edgeSeconds, next: edgeRequest, send: viaEdge }),
    );

    // Straight to the backend: the 135M-shaped model and 32 adapters, routed as the edge would route them.
    console.log('writing the SmolLM2-135M-shaped model and 32 adapters to the bucket…');
    const cfg = await putRandomModel(edge.store, 'bench/smollm2-135m/');
    const adapterPrefixes = await putRandomAdapters(edge.store, cfg, 'bench/adapters/', 32);
    const signer = await edgeSigner(signingKey);
    const baseRef = { id: 'bench-135m', name: 'smollm2-135m', storage_prefix: 'bench/smollm2-135m/' };
    const routing = (a: number) => ({
      tenant_id: 'bench',
      target: {
        kind: 'adapter',
        base_model: baseRef,
        adapter: { id: `bench-adapter-${a}`, name: `a${a}`, storage_prefix: adapterPrefixes[a], rank: 16 },
        merge: null,
      },
    });
    const direct = async (body: Record<string, unknown>, signal: AbortSignal) => {
      const path = '/v1/chat/completions';
      const text = JSON.stringify(body);
      const headers = {
        'content-type': 'application/json',
        ...(await signer.sign({ backendId: BACKEND_ID, bootId: backend!.bootId, method: 'POST', path, body: text })),
      };
      return fetch(`${backend!.url}${path}`, { method: 'POST', headers, body: text, signal });
    };
    const popular = zipf(adapterPrefixes.length);
    const random = rng(7);
    const directRequest = (pick: () => number) => (c: number, k: number) => ({
      body: {
        model: 'smollm2-135m',
        messages: [{ role: 'user', content: `request ${c}.${k}: summarize the meeting notes` }],
        max_tokens: 32,
        temperature: 0,
        rankgate: routing(pick()),
      },
    });
    // Warm-up: the model loaded, every adapter loaded once.
    for (let a = 0; a < adapterPrefixes.length; a++) await warm(direct, directRequest(() => a)(0, a).body);
    const one = await measured('backend, 1 adapter', backend, directClients, () =>
      runLoad({ clients: directClients, seconds: directSeconds, next: directRequest(() => 0), send: direct }),
    );
    const zipf32 = await measured('backend, 32 adapters (Zipf)', backend, directClients, () =>
      runLoad({ clients: directClients, seconds: directSeconds, next: directRequest(() => popular(random())), send: direct }),
    );

    const runs = [edgeRun, one, zipf32];
    console.log(
      `\n${table(
        [
          'run',
          'clients',
          'requests',
          'errors',
          'tokens/s',
          'TTFT p50 ms',
          'TTFT p99 ms',
          'per token p50 ms',
          'p99 ms',
          'RSS start MB',
          'RSS end MB',
        ],
        runs.map((r) => [
          r.name,
          r.clients,
          r.requests,
          r.errors,
          r.tokensPerS,
          r.ttftMs.p50,
          r.ttftMs.p99,
          r.perTokenMs.p50,
          r.perTokenMs.p99,
          r.rssStartMb,
          r.rssEndMb,
        ]),
      )}`,
    );
    const summary = (r: Run) => ({
      clients: r.clients,
      seconds: r.seconds,
      requests: r.requests,
      errors: r.errors,
      tokens_per_s: r.tokensPerS,
      ttft_ms: r.ttftMs,
      per_token_ms: r.perTokenMs,
      rss_mb: { start: r.rssStartMb, end: r.rssEndMb },
    });
    return {
      bench: 'serve',
      quick,
      edge: summary(edgeRun),
      backend_1_adapter: summary(one),
      backend_zipf_32_adapters: summary(zipf32),
      edge_ttft_p99_ms: edgeRun.ttftMs.p99,
      edge_tokens_per_s: edgeRun.tokensPerS,
      errors: runs.reduce((s, r) => s + r.errors, 0),
      rss_growth_mb: Math.max(...runs.map((r) => r.rssEndMb - r.rssStartMb)),
      zipf32_vs_1: zipf32.tokensPerS / one.tokensPerS,
    };
  } finally {
    await backend?.stop();
    await edge?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
