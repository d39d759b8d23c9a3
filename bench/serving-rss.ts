/**
 * `npm run bench -- serving-rss`: the part of `bench scale` that `int4_serving_rss_mb` reads, on the same path (the
 * edge, an int4 quantization job, a fresh backend process serving `<base>@int4` from the stored artifact), without
 * scale's fp32 load, adapters, training and merge. The backend's RSS is sampled as scale samples it (VmRSS of its
 * process group every 250 ms): the first request (which loads the artifact), three 16-token requests of 24 tokens,
 * a 16-token prompt, then the 1,024-token prompt (one token). Where the backend's memory sits after each phase
 * (anonymous apart from each mapped file, smaps.ts), its CPU for the long prompt and per decoded token are reported.
 * SERVING_RSS_VARIANTS (JSON: a list of {name, env, from}: more backend environment, another checkout whose backend
 * serves) serves the same artifact from one fresh backend per variant, in turn, `SERVING_RSS_ROUNDS` times (default
 * 1), so that settings and commits compare in one run.
 * SERVING_RSS_CHECKPOINT: a folder holding a random 1B checkpoint to upload (default: written fresh).
 */
import { link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import { tokenizerConfigJson } from '../gpu-backend/default-model/tokenizer-files.ts';
import { TextTokenizer } from '../gpu-backend/formats/tokenizer.ts';
import type { BackendProcess } from '../scripts/backend-process.ts';
import { EdgeApi } from '../scripts/edge-api.ts';
import type { EdgeStack } from '../scripts/edge-stack.ts';
import { startBenchBackend, startEdgeAndBackend, ADMIN_TOKEN } from './bench-stack.ts';
import { table } from './measure.ts';
import { cpuMs, groupOf, rssMb, statusMb } from './proc-stats.ts';
import { LLAMA_1B_CONFIG, writeRandomCheckpoint } from './random-checkpoint.ts';
import { finished, promptOf, rssPeak, streamed, uploadCheckpoint } from './scale.ts';
import { describeSmaps, smapsBreakdown } from './smaps.ts';

const BASE = 'rss-base';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Variant {
  name: string;
  env?: Record<string, string>;
  /** Another checkout whose backend serves (main, to compare in turn); default this one. */
  from?: string;
}

async function serveOnce(edge: EdgeStack, api: EdgeApi, stateDir: string, v: Variant, tok: TextTokenizer) {
  const backend: BackendProcess = await startBenchBackend(edge, stateDir, { HEARTBEAT_EVERY_MS: '2000', ...v.env }, v.from);
  const pid = backend.child.pid!;
  const model = `${BASE}@int4`;
  const p16 = promptOf(tok, 16);
  const p1024 = promptOf(tok, 1024);
  try {
    const serving = rssPeak(pid);
    // A fresh backend's first request may find the edge not yet routing to it (its heartbeat): tried again.
    let first = await streamed(api, model, p16, 1);
    for (let i = 0; first.error && i < 5; i++) {
      await sleep(2000);
      first = await streamed(api, model, p16, 1);
    }
    if (first.error) throw new Error(first.error);
    const loaded = await smapsBreakdown(pid);
    const decode: { tps: number; cpuPerToken: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const c0 = await cpuMs(pid);
      const r = await streamed(api, model, p16, 24);
      decode.push({ tps: r.decodeTokensPerS, cpuPerToken: ((await cpuMs(pid)) - c0) / r.completionTokens });
    }
    await streamed(api, model, p16, 1);
    await sleep(300);
    const short = await serving.peek();
    console.log(`[${v.name}] short peak by member: ${JSON.stringify(serving.atPeak())}`);
    const shortSmaps = await smapsBreakdown(pid);
    // The backend's own peak over the long prompt, between samples too: VmHWM, reset to the current RSS first.
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    const c0 = await cpuMs(pid);
    const long = await streamed(api, model, p1024, 1);
    const longCpu = (await cpuMs(pid)) - c0;
    const backendPeak = await statusMb(pid, 'VmHWM');
    await sleep(300);
    const peak = await serving.stop();
    const after = await smapsBreakdown(pid);
    console.log(`[${v.name}] serving peak by member (backend ${pid}): ${JSON.stringify(serving.atPeak())}`);
    const now = await groupOf(pid);
    console.log(
      `[${v.name}] after by member: ${JSON.stringify(Object.fromEntries(await Promise.all(now.map(async (p) => [p, await rssMb(p)]))))}`,
    );
    console.log(`[${v.name}] loaded: ${describeSmaps(loaded)}`);
    console.log(`[${v.name}] after short: ${describeSmaps(shortSmaps)}`);
    console.log(`[${v.name}] after 1024: ${describeSmaps(after)}`);
    return {
      variant: v.name,
      short_rss_mb: short,
      serving_rss_mb: peak,
      backend_long_peak_mb: backendPeak,
      loaded_anon_mb: loaded.anonMb,
      short_anon_mb: shortSmaps.anonMb,
      after_long_anon_mb: after.anonMb,
      after_long_file_mb: after.fileMb,
      p1024_ttft_ms: long.ttftMs,
      p1024_cpu_ms: longCpu,
      b1_tokens_per_s: Math.max(...decode.map((d) => d.tps)),
      b1_cpu_ms_per_token: Math.min(...decode.map((d) => d.cpuPerToken)),
      error: long.error,
    };
  } finally {
    await backend.stop();
  }
}

export async function run(_quick: boolean): Promise<Record<string, unknown>> {
  const cfg = parseModelConfig(LLAMA_1B_CONFIG);
  const variants: Variant[] = JSON.parse(process.env.SERVING_RSS_VARIANTS ?? '[{"name":"default","env":{}}]');
  const rounds = Number(process.env.SERVING_RSS_ROUNDS ?? 1);
  const stateDir = await mkdtemp(join(tmpdir(), 'rankgate-bench-serving-rss-'));
  let edge: EdgeStack | null = null;
  let backend: BackendProcess | null = null;
  try {
    const ckpt = join(stateDir, 'checkpoint');
    await mkdir(ckpt);
    const from = process.env.SERVING_RSS_CHECKPOINT;
    if (from) {
      // Hard links of the checkpoint's own files (a folder may also hold packed weights).
      for (const f of await readdir(from)) if (f === 'config.json' || f.startsWith('model')) await link(join(from, f), join(ckpt, f));
    } else await writeRandomCheckpoint(ckpt, LLAMA_1B_CONFIG, { shards: 2 });
    ({ edge, backend } = await startEdgeAndBackend({ stateDir, backendEnv: { HEARTBEAT_EVERY_MS: '2000' } }));
    const api = await EdgeApi.newTenant(edge.edgeUrl, ADMIN_TOKEN, 'bench');
    const tokenizer = await uploadCheckpoint(edge, ckpt, cfg.vocabSize, 'bench/rss-base/');
    const base = await api.json('/v1/base-models', { body: { name: BASE, storage_prefix: 'bench/rss-base/' } }, 201);
    const t = performance.now();
    const q = await api.json(`/v1/base-models/${base.id}/quantizations`, { body: { bits: 4 } }, 202);
    const done = await finished(api, `/v1/base-models/${base.id}/quantizations/${q.id}`, 900);
    if (done?.status !== 'succeeded') throw new Error(`the quantization job did not succeed: ${JSON.stringify(done)}`);
    console.log(`quantization job: ${((performance.now() - t) / 1000).toFixed(0)} s`);
    const packedBytes = done.result?.packed_bytes as number;
    await backend.stop();
    backend = null;
    const tok = new TextTokenizer(new Tokenizer(tokenizer, tokenizerConfigJson()), tokenizerConfigJson());
    const results: Awaited<ReturnType<typeof serveOnce>>[] = [];
    for (let r = 0; r < rounds; r++)
      for (const v of variants) {
        const res = await serveOnce(edge, api, stateDir, v, tok);
        console.log(JSON.stringify(res));
        results.push(res);
      }
    const kvBytes = 2 * cfg.numLayers * cfg.numKvHeads * cfg.headDim * 4 * (1024 + 64);
    const target = (1.3 * (packedBytes + kvBytes)) / 1024 ** 2 + 300;
    console.log(
      table(
        ['variant', 'short RSS', 'serving RSS', 'backend peak (VmHWM)', 'anon short→after', 'p1024 CPU ms', 'b1 tok/s', 'b1 CPU ms/token'],
        results.map((r) => [
          r.variant,
          r.short_rss_mb.toFixed(0),
          r.serving_rss_mb.toFixed(0),
          r.backend_long_peak_mb.toFixed(0),
          `${r.short_anon_mb.toFixed(0)}→${r.after_long_anon_mb.toFixed(0)}`,
          r.p1024_cpu_ms.toFixed(0),
          r.b1_tokens_per_s.toFixed(1),
          r.b1_cpu_ms_per_token.toFixed(1),
        ]),
      ),
    );
    return { packed_bytes: packedBytes, rss_target_mb: target, results };
  } finally {
    await backend?.stop();
    await edge?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
