/**
 * `npm run bench -- scale [--quick]`: a model of a real size through the whole product, as a user drives it, on a
 * stack the bench starts itself (s3rver, the edge, one backend; scripts/edge-stack.ts as the serve bench uses it).
 *  - Setup: a Llama-3.2-1B-shaped checkpoint with random weights (quick: a small shape) written the way a user
 *    uploads one, bf16 in two shards plus model.safetensors.index.json, put in the bucket; 8 random r16 adapters
 *    on all seven projections, uploaded and committed through the edge.
 *  - Steps: register the base; load it in float32 here (fp32_loads); an int4 quantization job; a fresh backend (so
 *    the serving RSS holds nothing the job left); the first `@int4` request, which loads the stored artifact
 *    (int4_load_from_artifact_s); decode at batch 1 (base, one adapter),
 *    8 distinct adapters at batch 8, time to first token of 16- and 1,024-token prompts; 20 training steps at r16;
 *    an rmm_shared merge of the 8, then its 8 tasks at batch 8 through the shared basis.
 *  - Slow steps are time-boxed (training, the merge): past its box a step is reported as timed out, not waited on.
 *  - Yardstick: the bytes/s of a large buffer copy, sampled before and after (the larger is used):
 *    int4_b1_bandwidth_util = base tokens/s at batch 1 × packed bytes read per token ÷ that, the base's tokens/s
 *    taken fresh (before anything else is served) as the best of its first three requests; the first alone is
 *    int4_b1_first_request_tokens_per_s.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { parseModelConfig, PROJECTIONS, type ModelConfig } from '../contracts/formats/hf-config.ts';
import { tokenizerConfigJson } from '../gpu-backend/default-model/tokenizer-files.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { expectedWeightShapes } from '../gpu-backend/engine/weights.ts';
import { openModelFolder } from '../gpu-backend/formats/files.ts';
import { TextTokenizer } from '../gpu-backend/formats/tokenizer.ts';
import { adapterFiles } from '../gpu-backend/lowrank/peft-adapter.ts';
import type { BackendProcess } from '../scripts/backend-process.ts';
import { uploadAdapter } from '../scripts/bootstrap.ts';
import { EdgeApi } from '../scripts/edge-api.ts';
import type { EdgeStack } from '../scripts/edge-stack.ts';
import { ADMIN_TOKEN, startBenchBackend, startEdgeAndBackend } from './bench-stack.ts';
import { table } from './measure.ts';
import { randomAdapter } from './models.ts';
import { groupOf, groupRssMb, rssMb } from './proc-stats.ts';
import { LLAMA_1B_CONFIG, writeRandomCheckpoint } from './random-checkpoint.ts';
import { paddedTokenizer } from './serve-model.ts';

const BASE = 'scale-base';
const PREFIX = 'bench/scale-base/';
const ADAPTERS = 8;
const RANK = 16;
const TRAIN_STEPS = 20;

/** The quick run's shape: Llama-3.2-1B's structure (GQA, tied embeddings) at a size that runs in seconds. */
export const SMALL_CONFIG = {
  ...LLAMA_1B_CONFIG,
  vocab_size: 2048,
  hidden_size: 256,
  intermediate_size: 1024,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 2,
  head_dim: 32,
  bos_token_id: 0,
  eos_token_id: 2047,
};

/**
 * Bytes per second a large buffer copy moves (best of a few), the memory bandwidth yardstick. A copy reads and writes
 * each byte, so it moves twice the bytes it copies; counting them once would halve the yardstick and let a decode
 * that only reads weights appear to exceed the machine (a utilisation above 1). One thread, so still a floor.
 */
export function copyBytesPerS(bytes = 512 * 1024 ** 2): number {
  const src = new Uint8Array(bytes).fill(1);
  const dst = new Uint8Array(bytes);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    dst.set(src);
    best = Math.min(best, performance.now() - t);
  }
  return (2 * bytes) / (best / 1000);
}

/** The checkpoint's files and a padded tokenizer put under `prefix`, as a user uploads a model; the tokenizer's JSON. */
export async function uploadCheckpoint(
  edge: EdgeStack,
  ckpt: string,
  vocabSize: number,
  prefix = PREFIX,
): Promise<Record<string, unknown>> {
  for (const name of await readdir(ckpt)) {
    const path = join(ckpt, name);
    await edge.store.put(prefix + name, createReadStream(path), { contentLength: (await stat(path)).size });
  }
  const tokenizer = paddedTokenizer(vocabSize);
  await edge.store.put(`${prefix}tokenizer.json`, JSON.stringify(tokenizer));
  await edge.store.put(`${prefix}tokenizer_config.json`, JSON.stringify({ ...tokenizerConfigJson(), model_max_length: 4096 }));
  return tokenizer;
}

/**
 * Random r16 adapters on all seven projections, one per name (seeds 1, 2, …), uploaded and committed through the
 * edge as a user does: the adapters, their weight files' bytes, and the names the edge refused.
 */
export async function uploadRandomAdapters(
  api: EdgeApi,
  cfg: ModelConfig,
  base: string,
  names: string[],
  log: (line: string) => void,
): Promise<{ adapters: LoraAdapter[]; bytes: number; refused: string[] }> {
  const adapters = names.map((_, i) => randomAdapter(cfg, RANK, i + 1, [...PROJECTIONS]));
  let bytes = 0;
  const refused: string[] = [];
  for (const [i, name] of names.entries()) {
    const files = adapterFiles(adapters[i]);
    bytes += files.weights.byteLength;
    const ok = await uploadAdapter(
      api,
      { model: { name: base }, log },
      name,
      new Map([
        ['adapter_config.json', new TextEncoder().encode(files.config)],
        ['adapter_model.safetensors', files.weights],
      ]),
    );
    if (!ok) refused.push(name);
  }
  return { adapters, bytes, refused };
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Streamed {
  ttftMs: number;
  /** Tokens after the first, per second of the time after the first. */
  decodeTokensPerS: number;
  completionTokens: number;
  error?: string;
}

/**
 * One streamed completion: time to first token and decode speed, read from the SSE stream. A raw completion, not
 * a chat (serve-load.ts reads chat deltas), so that the prompt's token count is exact, with no chat template.
 */
export async function streamed(api: EdgeApi, model: string, prompt: string, maxTokens: number): Promise<Streamed> {
  const t0 = performance.now();
  const res = await api
    .fetch('/v1/completions', {
      body: { model, prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } },
    })
    .catch((err: Error) => err);
  // A request that never got an answer is one error of the run, not the end of it.
  if (res instanceof Error) return { ttftMs: NaN, decodeTokensPerS: NaN, completionTokens: 0, error: res.message };
  if (res.status !== 200 || !res.body)
    return { ttftMs: NaN, decodeTokensPerS: NaN, completionTokens: 0, error: `${res.status} ${await res.text()}` };
  let first = NaN;
  let last = NaN;
  let completionTokens = 0;
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end = buffered.indexOf('\n\n');
    while (end >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\n\n');
      const data = event.replace(/^data: /, '');
      if (data === '[DONE]' || !data.startsWith('{')) continue;
      const parsed = JSON.parse(data) as { choices?: { text?: string }[]; usage?: { completion_tokens: number }; error?: unknown };
      if (parsed.error) return { ttftMs: NaN, decodeTokensPerS: NaN, completionTokens, error: JSON.stringify(parsed.error) };
      if (parsed.usage) completionTokens = parsed.usage.completion_tokens;
      if (parsed.choices?.length) {
        last = performance.now();
        if (Number.isNaN(first)) first = last;
      }
    }
  }
  return {
    ttftMs: first - t0,
    decodeTokensPerS: completionTokens > 1 ? (completionTokens - 1) / ((last - first) / 1000) : NaN,
    completionTokens,
  };
}

/** `n` requests at once (the scheduler batches them): tokens/s of them all, from the first request to the last token. */
async function concurrent(api: EdgeApi, models: string[], prompt: string, maxTokens: number) {
  const t0 = performance.now();
  const runs = await Promise.all(models.map((m) => streamed(api, m, prompt, maxTokens)));
  const tokens = runs.reduce((s, r) => s + r.completionTokens, 0);
  return { tokensPerS: tokens / seconds(t0), errors: runs.filter((r) => r.error).map((r) => r.error!) };
}

interface Job {
  status: string;
  error: unknown;
  result: Record<string, unknown> | null;
}

/** A job polled every `pollMs` until it finishes or its box runs out (then null). */
export async function finished(api: EdgeApi, path: string, boxS: number, pollMs = 1000): Promise<Job | null> {
  const t0 = performance.now();
  while (seconds(t0) < boxS) {
    // On a loaded machine the local edge misses a poll now and then (fetch failed); the next one counts.
    const job = (await api.json(path).catch(() => null)) as Job | null;
    if (job && ['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    await sleep(pollMs);
  }
  return null;
}

/**
 * Samples the backend's RSS (with its children) every 250 ms until stopped; returns the peak. The group's members
 * are looked up every 4 s, not at each sample: the lookup walks every process on the machine (~20 ms of CPU with
 * ~120 processes), which at every sample took ~9% of a core from the decode being timed on this 2-core machine.
 */
export function rssPeak(pid: number): {
  peek: () => Promise<number>;
  atPeak: () => Record<number, number>;
  stop: () => Promise<number>;
} {
  let peak = 0;
  let running = true;
  let members: number[] = [pid];
  /** Each member's RSS at the group's peak (bench serving-rss prints it). */
  let atPeak: Record<number, number> = {};
  const loop = (async () => {
    for (let i = 0; running; i++) {
      if (i % 16 === 0) members = await groupOf(pid).catch(() => members);
      const each = await Promise.all(members.map((p) => rssMb(p).catch(() => 0)));
      const sum = each.reduce((a, b) => a + (b || 0), 0);
      if (sum > peak) atPeak = Object.fromEntries(members.map((p, j) => [p, each[j]]));
      peak = Math.max(peak, sum);
      await sleep(250);
    }
  })();
  return {
    peek: async () => Math.max(peak, await groupRssMb(pid).catch(() => 0)),
    atPeak: () => atPeak,
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** A prompt of exactly `n` tokens (the tokenizer counts characters; filler words until the count is reached). */
export function promptOf(tok: TextTokenizer, n: number): string {
  let text = '';
  for (let i = 0; tok.encode(text, true).length < n; i++) text += 'abcdefghij'[i % 10];
  return text;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const rawConfig = quick ? SMALL_CONFIG : LLAMA_1B_CONFIG;
  const cfg: ModelConfig = parseModelConfig(rawConfig);
  const box = quick ? { quantizeS: 300, trainS: 120, mergeS: 120 } : { quantizeS: 900, trainS: 150, mergeS: 120 };
  const decodeTokens = quick ? 16 : 24;
  const stateDir = await mkdtemp(join(tmpdir(), 'rankgate-bench-scale-'));
  const rows: [string, string | number][] = [];
  // Each step is printed as it ends, so a run stopped half-way still says how far it got.
  const started = performance.now();
  const report = (...added: [string, string | number][]) => {
    for (const [step, value] of added) console.log(`[${seconds(started).toFixed(0)} s] ${step}: ${value}`);
    rows.push(...added);
  };
  const errors: string[] = [];
  const out: Record<string, unknown> = { bench: 'scale', quick, shape: quick ? 'small' : 'llama-3.2-1b' };
  const copyBefore = copyBytesPerS();
  let edge: EdgeStack | null = null;
  let backend: BackendProcess | null = null;
  try {
    // Setup: the checkpoint as a user has it, then uploaded file by file.
    let t = performance.now();
    const ckpt = join(stateDir, 'checkpoint');
    await writeRandomCheckpoint(ckpt, rawConfig, { shards: 2 });
    report(['write random bf16 checkpoint (2 shards), s', seconds(t)]);
    const backendEnv = { HEARTBEAT_EVERY_MS: '2000' };
    ({ edge, backend } = await startEdgeAndBackend({ stateDir, backendEnv }));
    const api = await EdgeApi.newTenant(edge.edgeUrl, ADMIN_TOKEN, 'bench');
    t = performance.now();
    const tokenizer = await uploadCheckpoint(edge, ckpt, cfg.vocabSize);
    report(['upload checkpoint to the bucket, s', seconds(t)]);
    const base = await api.json('/v1/base-models', { body: { name: BASE, storage_prefix: PREFIX } }, 201);
    const names = Array.from({ length: ADAPTERS }, (_, i) => `a${i}`);
    t = performance.now();
    const uploaded = await uploadRandomAdapters(api, cfg, BASE, names, (line) => errors.push(line));
    errors.push(...uploaded.refused.map((name) => `adapter ${name} was refused`));
    report([`upload and commit ${ADAPTERS} r${RANK} adapters (all 7 projections), s`, seconds(t)]);

    // float32: the whole checkpoint widened at load (4.9 GB for the 1B shape), here in the bench's process.
    t = performance.now();
    const rssBefore = await rssMb(process.pid);
    const fp32 = await Decoder.fromFolder(await openModelFolder(ckpt)).then(
      (d) => d,
      (err: Error) => {
        errors.push(`fp32 load: ${err.message}`);
        return null;
      },
    );
    out.fp32_loads = fp32 !== null;
    out.fp32_load_s = seconds(t);
    out.fp32_load_rss_growth_mb = (await rssMb(process.pid)) - rssBefore;
    await fp32?.release();
    report(['fp32 load (in the bench process), s', out.fp32_load_s as number]);

    // The int4 quantization job, then the first @int4 request: the stored artifact fetched and loaded.
    t = performance.now();
    const quantization = await api.json(`/v1/base-models/${base.id}/quantizations`, { body: { bits: 4 } }, 202);
    const quantized = await finished(api, `/v1/base-models/${base.id}/quantizations/${quantization.id}`, box.quantizeS);
    out.quantize_job_s = seconds(t);
    report(['int4 quantization job, s', out.quantize_job_s as number]);
    if (quantized?.status !== 'succeeded') throw new Error(`the quantization job did not succeed: ${JSON.stringify(quantized)}`);
    // Served by a fresh backend on the same model cache, as after a restart or on a second host: the job's process
    // keeps what the job left in its heap, which says nothing about what serving costs.
    out.quantize_backend_rss_mb = await rssMb(backend.child.pid!);
    await backend.stop();
    backend = await startBenchBackend(edge, stateDir, backendEnv);
    const pid = backend.child.pid!;
    const packedBytes = quantized.result?.packed_bytes as number;
    out.packed_bytes = packedBytes;
    const int4 = `${BASE}@int4`;
    const tok = new TextTokenizer(new Tokenizer(tokenizer, tokenizerConfigJson()), tokenizerConfigJson());
    const p16 = promptOf(tok, 16);
    const p1024 = promptOf(tok, 1024);
    const serving = rssPeak(pid);
    t = performance.now();
    const firstInt4 = await streamed(api, int4, p16, 1);
    out.int4_load_from_artifact_s = seconds(t);
    if (firstInt4.error) errors.push(`first @int4 request: ${firstInt4.error}`);
    report(['first @int4 request (fetch artifact + load + 1 token), s', out.int4_load_from_artifact_s as number]);

    // Serving at int4: the base alone first (its RSS is the one the target bounds), then adapters.
    const record = (what: string, r: Streamed) => {
      if (r.error) errors.push(`${what}: ${r.error}`);
      return r;
    };
    // The base alone, fresh: what the bandwidth figure divides (nothing else loaded, no long prompt served yet). Best
    // of three requests, since one request's 23 steps on this shared 2-core machine move with whatever else runs;
    // the first request is reported apart (int4_b1_first_request_tokens_per_s), so a cost only it pays still shows.
    const freshRuns: Streamed[] = [];
    for (let i = 0; i < 3; i++) freshRuns.push(record('base b1', await streamed(api, int4, p16, decodeTokens)));
    const baseFresh = freshRuns.reduce((best, r) => (r.decodeTokensPerS > best.decodeTokensPerS ? r : best));
    const ttft16 = record('p16 ttft', await streamed(api, int4, p16, 1));
    out.int4_short_prompts_rss_mb = await serving.peek();
    const ttft1024 = record('p1024 ttft', await streamed(api, int4, p1024, 1));
    out.int4_serving_rss_mb = await serving.stop();
    const withAdapters = rssPeak(pid);
    for (const n of names) await streamed(api, `${int4}:${n}`, p16, 1); // every adapter loaded before the clock
    /** A failed sample (NaN) never replaces a measured one. */
    const faster = (a: number, b: number) => Number.isNaN(b) || a > b;
    // Base and adapter in turn, best of three each, once the adapters are loaded: one streamed adapter request
    // against the better of two base ones (as before) favoured the base by whatever the machine did meanwhile.
    let baseTokensPerS = Number.NaN;
    let adapterB1 = record('adapter b1', await streamed(api, `${int4}:${names[0]}`, p16, decodeTokens));
    for (let round = 0; round < 3; round++) {
      if (round > 0) {
        const again = record('adapter b1', await streamed(api, `${int4}:${names[0]}`, p16, decodeTokens));
        if (faster(again.decodeTokensPerS, adapterB1.decodeTokensPerS)) adapterB1 = again;
      }
      const baseAgain = record('base b1', await streamed(api, int4, p16, decodeTokens));
      if (faster(baseAgain.decodeTokensPerS, baseTokensPerS)) baseTokensPerS = baseAgain.decodeTokensPerS;
    }
    const multi = await concurrent(
      api,
      names.map((n) => `${int4}:${n}`),
      p16,
      decodeTokens,
    );
    errors.push(...multi.errors);
    out.int4_with_adapters_rss_mb = await withAdapters.stop();
    report(
      ['int4 decode, base, batch 1, fresh (first request), tokens/s', freshRuns[0].decodeTokensPerS],
      ['int4 decode, base, batch 1, fresh (best of its first three requests), tokens/s', baseFresh.decodeTokensPerS],
      ['int4 decode, base, batch 1, in turn with the adapter, tokens/s', baseTokensPerS],
      ['int4 decode, one adapter, batch 1, tokens/s', adapterB1.decodeTokensPerS],
      [`int4 decode, ${ADAPTERS} distinct adapters at batch ${ADAPTERS}, tokens/s`, multi.tokensPerS],
      ['int4 TTFT, 16-token prompt, ms', ttft16.ttftMs],
      ['int4 TTFT, 1024-token prompt, ms', ttft1024.ttftMs],
      ['backend RSS peak serving the int4 base, up to the 16-token prompts, MB', out.int4_short_prompts_rss_mb as number],
      ['backend RSS peak serving the int4 base, with the 1024-token prompt, MB', out.int4_serving_rss_mb as number],
      [`backend RSS peak with ${ADAPTERS} adapters loaded (float32 factors), MB`, out.int4_with_adapters_rss_mb as number],
    );

    // 20 training steps at r16 on all seven projections (one 64-character example a step), time-boxed.
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    const lines = Array.from({ length: TRAIN_STEPS }, (_, i) =>
      JSON.stringify({ prompt: `${p16} ${i}`, completion: ` ${p16.slice(0, 8)}` }),
    );
    form.set('file', new File([`${lines.join('\n')}\n`], 'train.jsonl'));
    const file = await api.json('/v1/files', { body: form }, 201);
    const training = rssPeak(pid);
    t = performance.now();
    const job = await api.json(
      '/v1/fine_tuning/jobs',
      {
        body: {
          model: BASE,
          training_file: file.id,
          hyperparameters: { n_epochs: 1, batch_size: 1, lora_r: RANK, lora_alpha: 2 * RANK, target_modules: [...PROJECTIONS] },
        },
      },
      201,
    );
    const trained = await finished(api, `/v1/fine_tuning/jobs/${job.id}`, box.trainS);
    out.train_s = seconds(t);
    if (!trained) await api.fetch(`/v1/fine_tuning/jobs/${job.id}/cancel`, { method: 'POST' });
    else if (trained.status !== 'succeeded') errors.push(`training: ${JSON.stringify(trained.error)}`);
    out.train_peak_rss_mb = await training.stop();
    const steps = (
      (await api.json(`/v1/fine_tuning/jobs/${job.id}/events?limit=100`)).data as { type: string; data?: { tokens_per_s?: number } }[]
    )
      .filter((e) => e.type === 'metrics' && e.data?.tokens_per_s !== undefined)
      .map((e) => e.data!);
    out.train_steps_done = steps.length;
    out.train_timed_out = !trained;
    out.train_tokens_per_s = steps.length ? Math.max(...steps.map((s) => s.tokens_per_s as number)) : null;
    report(
      [`training, ${steps.length}/${TRAIN_STEPS} steps at r${RANK}${trained ? '' : ` (box ${box.trainS} s)`}, s`, out.train_s as number],
      ['training tokens/s (best step)', (out.train_tokens_per_s as number | null) ?? '-'],
      ['backend RSS peak while training, MB', out.train_peak_rss_mb as number],
    );

    // An rmm_shared merge of the 8, time-boxed; done in time, its 8 tasks at batch 8 through the shared basis.
    t = performance.now();
    const merge = await api.json('/v1/merges', { body: { name: 'eight', base_model: BASE, adapters: names, method: 'rmm_shared' } }, 201);
    const merged = await finished(api, `/v1/merges/${merge.id}`, box.mergeS);
    out.merge_s = seconds(t);
    out.merge_timed_out = !merged;
    report([`rmm_shared merge of ${ADAPTERS}${merged ? '' : ` (box ${box.mergeS} s, not finished)`}, s`, out.merge_s as number]);
    if (merged && merged.status !== 'succeeded') errors.push(`merge: ${JSON.stringify(merged.error)}`);
    if (merged?.status === 'succeeded') {
      const tasks = names.map((n) => `${int4}:eight/${n}`);
      for (const m of tasks) await streamed(api, m, p16, 1);
      const shared = await concurrent(api, tasks, p16, decodeTokens);
      errors.push(...shared.errors);
      out.shared_b8_tokens_per_s = shared.tokensPerS;
      report([`int4 decode, ${ADAPTERS} tasks of the shared basis at batch ${ADAPTERS}, tokens/s`, shared.tokensPerS]);
    }

    const copy = Math.max(copyBefore, copyBytesPerS());
    // The base phase's largest cache: one row of the 1024-token prompt (kv-cache.ts grows it 64 positions at a time).
    const kvBytes = 2 * cfg.numLayers * cfg.numKvHeads * cfg.headDim * 4 * (1024 + 64);
    Object.assign(out, {
      copy_gb_per_s: copy / 1e9,
      int4_b1_tokens_per_s: baseFresh.decodeTokensPerS,
      int4_b1_first_request_tokens_per_s: freshRuns[0].decodeTokensPerS,
      int4_b1_in_turn_tokens_per_s: baseTokensPerS,
      int4_b1_bandwidth_util: (baseFresh.decodeTokensPerS * packedBytes) / copy,
      int4_p16_ttft_ms: ttft16.ttftMs,
      int4_p1024_ttft_ms: ttft1024.ttftMs,
      adapter_vs_base_b1: adapterB1.decodeTokensPerS / baseTokensPerS,
      multi_b8_tokens_per_s: multi.tokensPerS,
      int4_rss_target_mb: (1.3 * (packedBytes + kvBytes)) / 1024 ** 2 + 300,
      fp32_weight_mb: fp32WeightBytes(cfg) / 1024 ** 2,
      train_rss_vs_fp32_weights: (out.train_peak_rss_mb as number) / (fp32WeightBytes(cfg) / 1024 ** 2),
    });
    report(['buffer copy, GB/s (yardstick)', copy / 1e9]);
  } catch (err) {
    errors.push(`stopped: ${(err as Error).message}`);
    if (backend) console.log(backend.logs().slice(-4000));
  } finally {
    await backend?.stop();
    await edge?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
  console.log(`\n${table(['step', 'value'], rows)}`);
  for (const e of errors) console.log(`error: ${e}`);
  return { ...out, errors: errors.length, error_samples: errors.slice(0, 5) };
}

/** Bytes of the model's weights in float32 (what the trainer holds). */
function fp32WeightBytes(cfg: ModelConfig): number {
  let n = 0;
  for (const shape of expectedWeightShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return 4 * n;
}
