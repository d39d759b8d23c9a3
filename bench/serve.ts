/**
 * `npm run bench -- serve [--quick]`: serving under load, on a stack the bench starts itself (s3rver, the edge in
 * `wrangler dev`, one backend process), with closed-loop streaming chat clients on loopback (serve-load.ts).
 *  - Through the edge: the default model, 64 clients over its six task adapters, 60 s (quick: 16 clients, 10 s).
 *  - Straight to the backend (requests signed as the edge signs them): a SmolLM2-135M-shaped model, 64 clients
 *    over 32 adapters with Zipf popularity, against the same load over one adapter, 30 s each (quick: 16, 10 s).
 * Each run starts with a warm-up of the same load (quick: shorter), so that its window starts with the batch as full
 * as the load keeps it, the KV cache and adapter rows and onnxruntime's buffers grown to that batch. Reports
 * throughput, time to first token and per-token latency (p50/p99) of the window and of the warm-up, errors of both,
 * the backend's RSS before the warm-up, at the window's start and at its end, and the CPU time per request of the
 * backend (its process group: with its tokenizer processes) and, through the edge, of the local edge (`wrangler dev` and its workerd). The clients share the
 * machine with the stack, as they would on one host.
 */
import { edgeSigner, newSigningKey } from '../contracts/api/edge-signature.ts';
import { taskSlug } from '../gpu-backend/default-model/skills.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';
import type { BackendProcess } from '../scripts/backend-process.ts';
import { BACKEND_ID, withBenchStack } from './bench-stack.ts';
import { table } from './measure.ts';
import { findProcesses, groupCpuMs, groupRssMb } from './proc-stats.ts';
import { runLoad, zipf, type LoadOptions, type LoadResult } from './serve-load.ts';
import { putRandomAdapters, putRandomModel } from './serve-model.ts';

interface Run extends LoadResult {
  name: string;
  clients: number;
  /** The backend's RSS before the warm-up, when the window starts, and when it ends. */
  rssColdMb: number;
  rssStartMb: number;
  rssEndMb: number;
  backendCpuMsPerRequest: number;
  /** The local edge's CPU time per request for the run through it, by process (wrangler's node, workerd). */
  edgeCpuMsPerRequest: Record<string, number> | null;
}

const sum = (byName: Record<string, number>) => Object.values(byName).reduce((s, x) => s + x, 0);

/** One short request, read to the end: loads what `body` names before the clock starts. */
async function warm(send: (body: Record<string, unknown>, signal: AbortSignal) => Promise<Response>, body: Record<string, unknown>) {
  const res = await send({ ...body, max_tokens: 1 }, AbortSignal.timeout(300_000));
  if (res.status !== 200) throw new Error(`warm-up request failed: ${res.status} ${await res.text()}`);
  await res.text();
}

/** A load on the backend (and, given its pid, on the local edge), with memory and CPU sampled around its window. */
async function measured(
  name: string,
  backend: BackendProcess,
  edgePid: number | null,
  load: Omit<LoadOptions, 'onMeasuring'>,
): Promise<Run> {
  // The backend with the children it starts (each base model's tokenizer process), as one.
  const pid = backend.child.pid!;
  const rssMb = () => groupRssMb(pid);
  const cpuMs = async () => sum(await groupCpuMs(pid));
  const edgeCpu = async (): Promise<Record<string, number>> => (edgePid === null ? {} : groupCpuMs(edgePid));
  const rssColdMb = await rssMb();
  let start = { rss: 0, backend: 0, edge: {} as Record<string, number> };
  const result = await runLoad({
    ...load,
    onMeasuring: async () => {
      start = { rss: await rssMb(), backend: await cpuMs(), edge: await edgeCpu() };
    },
  });
  const rssEndMb = await rssMb();
  // NaN (null in the JSON) when the window saw no request.
  const perRequest = (ms: number) => (result.requests > 0 ? ms / result.requests : Number.NaN);
  const edgeEnd = await edgeCpu();
  const run: Run = {
    name,
    clients: load.clients,
    rssColdMb,
    rssStartMb: start.rss,
    rssEndMb,
    backendCpuMsPerRequest: perRequest((await cpuMs()) - start.backend),
    edgeCpuMsPerRequest:
      edgePid === null ? null : Object.fromEntries(Object.entries(edgeEnd).map(([n, ms]) => [n, perRequest(ms - (start.edge[n] ?? 0))])),
    ...result,
  };
  console.log(
    `${name}: ${result.requests} requests (+${result.warmup.requests} warming up), ${result.errors} errors, ${result.tokensPerS.toFixed(0)} tokens/s (${result.sentTokensPerS.toFixed(0)} of the requests sent in the window), TTFT p50 ${result.ttftMs.p50.toFixed(0)} ms p99 ${result.ttftMs.p99.toFixed(0)} ms (warm-up p99 ${result.warmup.ttftMs.p99.toFixed(0)} ms)`,
  );
  for (const e of result.errorSamples) console.log(`  error: ${e}`);
  return run;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const [edgeClients, edgeSeconds, edgeWarmup] = quick ? [16, 10, 5] : [64, 60, 10];
  // A 135M-shaped request takes 32 decode steps of a full batch; the warm-up lasts about one such request.
  const [directClients, directSeconds, directWarmup] = quick ? [16, 10, 10] : [64, 30, 15];
  const { signingKey } = await newSigningKey();
  // Its edge CPU split and the README's numbers are wrangler dev's (its Node process, found by `dev --port`, and
  // workerd); the local stack's default runtime, Miniflare, would not be found.
  const stack = { runtime: 'wrangler-dev' as const, name: 'rankgate-bench-serve', signingKey, backendEnv: { HEARTBEAT_EVERY_MS: '2000' } };
  return withBenchStack(stack, async ({ edge, backend, model, ready, tasks, prompts }) => {
    const api = ready.api;

    // Through the edge: each client cycles through the six tasks with prompts of that task.
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
      fetch(`${edge.edgeUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
    // Warm-up: the model and every adapter loaded, the edge's caches filled.
    for (let t = 0; t < tasks.length; t++) await warm(viaEdge, edgeRequest(t, 0).body);
    const port = new URL(edge.edgeUrl).port;
    const [edgePid] = await findProcesses(['dev', '--port', port]);
    if (edgePid === undefined) throw new Error(`no wrangler dev process on port ${port}`);
    const edgeRun = await measured('edge, 6 adapters', backend, edgePid, {
      clients: edgeClients,
      seconds: edgeSeconds,
      warmupSeconds: edgeWarmup,
      next: edgeRequest,
      send: viaEdge,
    });

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
        ...(await signer.sign({ backendId: BACKEND_ID, bootId: backend.bootId, method: 'POST', path, body: text })),
      };
      return fetch(`${backend.url}${path}`, { method: 'POST', headers, body: text, signal });
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
    const directLoad = { clients: directClients, seconds: directSeconds, warmupSeconds: directWarmup, send: direct };
    const one = await measured('backend, 1 adapter', backend, null, { ...directLoad, next: directRequest(() => 0) });
    const zipf32 = await measured('backend, 32 adapters (Zipf)', backend, null, {
      ...directLoad,
      next: directRequest(() => popular(random())),
    });

    const runs = [edgeRun, one, zipf32];
    console.log(
      `\n${table(
        [
          'run',
          'clients',
          'requests',
          'errors',
          'tokens/s',
          'of requests sent',
          'TTFT p50 ms',
          'TTFT p99 ms',
          'warm-up TTFT p99 ms',
          'per token p50 ms',
          'p99 ms',
          'RSS cold MB',
          'RSS start MB',
          'RSS end MB',
          'backend CPU ms/req',
          'edge CPU ms/req',
        ],
        runs.map((r) => [
          r.name,
          r.clients,
          r.requests,
          r.errors,
          r.tokensPerS,
          r.sentTokensPerS,
          r.ttftMs.p50,
          r.ttftMs.p99,
          r.warmup.ttftMs.p99,
          r.perTokenMs.p50,
          r.perTokenMs.p99,
          r.rssColdMb,
          r.rssStartMb,
          r.rssEndMb,
          r.backendCpuMsPerRequest,
          r.edgeCpuMsPerRequest ? sum(r.edgeCpuMsPerRequest) : '-',
        ]),
      )}`,
    );
    const summary = (r: Run) => ({
      clients: r.clients,
      seconds: r.seconds,
      requests: r.requests,
      errors: r.errors,
      tokens_per_s: r.tokensPerS,
      tokens_per_s_of_requests_sent: r.sentTokensPerS,
      ttft_ms: r.ttftMs,
      per_token_ms: r.perTokenMs,
      warmup: { seconds: r.warmup.seconds, requests: r.warmup.requests, errors: r.warmup.errors, ttft_ms: r.warmup.ttftMs },
      rss_mb: { cold: r.rssColdMb, start: r.rssStartMb, end: r.rssEndMb },
      backend_cpu_ms_per_request: r.backendCpuMsPerRequest,
      edge_cpu_ms_per_request: r.edgeCpuMsPerRequest && { total: sum(r.edgeCpuMsPerRequest), ...r.edgeCpuMsPerRequest },
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
      // Over each run's window, after its warm-up; what the warm-up itself grew is rss_mb.cold → start.
      rss_growth_mb: Math.max(...runs.map((r) => r.rssEndMb - r.rssStartMb)),
      // Tokens delivered within each window; then the older measure (serve-load.ts says why it changed).
      zipf32_vs_1: zipf32.tokensPerS / one.tokensPerS,
      zipf32_vs_1_of_requests_sent: zipf32.sentTokensPerS / one.sentTokensPerS,
      zipf32_ttft_p99_over_p50: zipf32.ttftMs.p99 / zipf32.ttftMs.p50,
      // The local runtime's numbers (wrangler dev and workerd beside the backend), per request through the edge;
      // edge.edge_cpu_ms_per_request splits them by process.
      edge_cpu_ms_per_request: sum(edgeRun.edgeCpuMsPerRequest ?? {}),
      backend_cpu_ms_per_request: edgeRun.backendCpuMsPerRequest,
    };
  });
}
