/**
 * `npm run bench -- long-prompt`: the part of `bench scale` that issue 18's serving-memory target reads, without its
 * edge, jobs and training (whose step alone takes 10.5 GB). The Llama-3.2-1B-shaped int4 base, loaded from packed
 * weights as a quantization job stores them, serves through one RunningBatch of 64 rows kept across requests, as the
 * backend's scheduler keeps it: batch-1 requests of 16-token prompts, then one 1,024-token prompt (one token, as the
 * scale bench asks), then the 16-token requests again.
 * Reports the process' RSS peak (VmHWM, reset between phases through /proc/self/clear_refs), where the resident
 * memory sits after each phase (anonymous apart from each mapped file, smaps.ts), TTFT and the long prefill's CPU,
 * and batch-1 decode (tokens/s and CPU ms a token, best of `rounds`) before and after the long prompt.
 * The random bf16 checkpoint and its packed int4 weights are written once, by a child process (so their memory is not
 * this one's), under LONG_PROMPT_DIR (default: the OS temp folder); `--quick` uses a small shape instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import { openCheckpoint } from '../gpu-backend/formats/checkpoint.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { type GenerationRequest, newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { openPackedWeights, writePackedWeights } from '../gpu-backend/engine/packed-weights.ts';
import { prefillChunk } from '../gpu-backend/engine/prefill.ts';
import { table } from './measure.ts';
import { describeSmaps, type SmapsBreakdown, smapsBreakdown } from './smaps.ts';
import { LLAMA_1B_CONFIG, writeRandomCheckpoint } from './random-checkpoint.ts';

const SMALL_CONFIG = { ...LLAMA_1B_CONFIG, hidden_size: 256, intermediate_size: 1024, num_hidden_layers: 4, vocab_size: 4096 };
export const PACKED = 'packed-int4.safetensors';

async function prepare(dir: string, quick: boolean): Promise<void> {
  const raw = quick ? SMALL_CONFIG : LLAMA_1B_CONFIG;
  if (!existsSync(join(dir, 'config.json'))) await writeRandomCheckpoint(dir, raw, { shards: 2, seed: 7 });
  if (!existsSync(join(dir, PACKED))) {
    const cfg = parseModelConfig(raw);
    await writePackedWeights(cfg, await openCheckpoint(dir), { bits: 4, groupSize: 128 }, join(dir, `${PACKED}.part`));
    await rename(join(dir, `${PACKED}.part`), join(dir, PACKED));
  }
}

async function statusMb(field: 'VmHWM' | 'VmRSS' | 'RssAnon'): Promise<number> {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The peak of the process' anonymous memory (RssAnon), sampled every 20 ms between onnxruntime's runs: the binding
 * runs a session synchronously on the main thread, so a step's own peak shows only in VmHWM (bench serving-rss).
 * RSS also counts the artifact's mapped pages, which the kernel drops and reads back as other processes need
 * memory: on the shared machine that moved the RSS of identical runs by 200 MB, and RssAnon does not move so.
 */
function anonSampler(): { take: () => Promise<number>; stop: () => void } {
  let peak = 0;
  const timer = setInterval(() => void statusMb('RssAnon').then((mb) => (peak = Math.max(peak, mb))), 20);
  return {
    take: async () => {
      const p = Math.max(peak, await statusMb('RssAnon'));
      peak = 0;
      return p;
    },
    stop: () => clearInterval(timer),
  };
}

/** The peak RSS since the last reset, then a reset (VmHWM starts again from the current RSS). */
async function peakAndReset(): Promise<number> {
  const peak = await statusMb('VmHWM');
  await writeFile('/proc/self/clear_refs', '5');
  return peak;
}

interface Served {
  ttftMs: number;
  /** CPU of the admission (prefill and first token), this process' threads together. */
  admitCpuMs: number;
  tokensPerS: number;
  cpuMsPerToken: number;
}

/** One request through the batch as the scheduler runs it: admitted (prefill + first token), then decoded to its end. */
async function serveOne(batch: RunningBatch, req: GenerationRequest): Promise<Served> {
  let done = false;
  batch.onFinish = () => (done = true);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await batch.admit([newRow(req, 0)]);
  const t1 = performance.now();
  const ca = process.cpuUsage(c0);
  const c1 = process.cpuUsage();
  let steps = 0;
  while (!done) {
    await batch.decode();
    steps++;
  }
  const c = process.cpuUsage(c1);
  return {
    ttftMs: t1 - t0,
    admitCpuMs: (ca.user + ca.system) / 1000,
    tokensPerS: steps / ((performance.now() - t1) / 1000),
    cpuMsPerToken: (c.user + c.system) / 1000 / steps,
  };
}

function prompt(n: number, vocab: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % vocab);
}

/**
 * The cached random checkpoint with its packed int4 weights (1B shape; quick: the small one), prepared in a child
 * process the first time so that the caller's RSS does not carry the preparation. Other 1B benches share it.
 */
export function preparedCheckpoint(quick: boolean): string {
  const dir = join(process.env.LONG_PROMPT_DIR ?? tmpdir(), quick ? 'rankgate-long-prompt-small' : 'rankgate-long-prompt');
  if (!existsSync(join(dir, PACKED)))
    execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--prepare', dir, String(quick)], {
      stdio: 'inherit',
    });
  return dir;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const dir = preparedCheckpoint(quick);
  const raw = quick ? SMALL_CONFIG : LLAMA_1B_CONFIG;
  const cfg = parseModelConfig(raw);
  const longLength = 1024;
  const decodeTokens = quick ? 16 : 24;
  const rounds = quick ? 2 : 3;
  await peakAndReset();
  const anon = anonSampler();
  const packed = await openPackedWeights(join(dir, PACKED));
  const decoder = await Decoder.fromFolder({ config: cfg, weights: await openCheckpoint(dir) }, packed);
  // PREFILL_CHUNK (positions per prefill step; default: what the engine's scores budget picks, prefill.ts) compares
  // chunk sizes, one process each: the arena is per process.
  const chunk = process.env.PREFILL_CHUNK ? Number(process.env.PREFILL_CHUNK) : undefined;
  const batch = new RunningBatch(decoder, 64, chunk);
  // Where the resident memory sits after each phase (smaps: anonymous apart from each mapped file), and the JS heap.
  const where: Record<string, SmapsBreakdown & { jsHeapMb: number; arrayBuffersMb: number }> = {};
  const snapshot = async (phase: string) => {
    const m = process.memoryUsage();
    where[phase] = { ...(await smapsBreakdown()), jsHeapMb: m.heapUsed / 1024 ** 2, arrayBuffersMb: m.arrayBuffers / 1024 ** 2 };
    console.log(
      `${phase}: ${describeSmaps(where[phase])}; JS heap ${where[phase].jsHeapMb.toFixed(0)} MB, array buffers ${where[phase].arrayBuffersMb.toFixed(0)} MB`,
    );
  };
  await snapshot('after load');
  const short = (seed: number): GenerationRequest => ({
    prompt: prompt(16, cfg.vocabSize, seed),
    adapter: null,
    maxTokens: decodeTokens,
    temperature: 0,
  });
  const best = async (label: string) => {
    const runs: Served[] = [];
    for (let r = 0; r < rounds; r++) runs.push(await serveOne(batch, short(r + 1)));
    console.log(`${label}: ${runs.map((s) => s.tokensPerS.toFixed(1)).join(', ')} tokens/s`);
    return {
      tokensPerS: Math.max(...runs.map((s) => s.tokensPerS)),
      cpuMsPerToken: Math.min(...runs.map((s) => s.cpuMsPerToken)),
      ttftMs: Math.min(...runs.map((s) => s.ttftMs)),
    };
  };
  const before = await best('b1 before the long prompt');
  const shortPeak = await peakAndReset();
  const shortAnon = await anon.take();
  await snapshot('after the 16-token prompts');
  const long = await serveOne(batch, { prompt: prompt(longLength, cfg.vocabSize, 99), adapter: null, maxTokens: 1, temperature: 0 });
  const longPeak = await peakAndReset();
  const longAnon = await anon.take();
  await snapshot(`after the ${longLength}-token prompt`);
  const after = await best('b1 after the long prompt');
  const afterPeak = await peakAndReset();
  const afterAnon = await anon.take();
  await snapshot('after the 16-token prompts again');
  anon.stop();
  const rssAfter = await statusMb('VmRSS');
  await decoder.release();

  const packedBytes = (await stat(join(dir, PACKED))).size;
  const kvBytes = 2 * cfg.numLayers * cfg.numKvHeads * cfg.headDim * 4 * (longLength + 64);
  const targetMb = (1.3 * (packedBytes + kvBytes)) / 1024 ** 2 + 300;
  console.log(
    table(
      ['measure', 'value'],
      [
        ['RSS peak: load and 16-token prompts, MB', shortPeak.toFixed(0)],
        [`RSS peak: the ${longLength}-token prompt, MB`, longPeak.toFixed(0)],
        ['RSS peak: 16-token prompts after it, MB', afterPeak.toFixed(0)],
        ['RSS at the end, MB', rssAfter.toFixed(0)],
        ['anonymous RSS peak: load and 16-token prompts, MB', shortAnon.toFixed(0)],
        [`anonymous RSS peak: the ${longLength}-token prompt, MB`, longAnon.toFixed(0)],
        ['anonymous RSS peak: 16-token prompts after it, MB', afterAnon.toFixed(0)],
        ['target: 1.3 × (packed + KV cache) + 300, MB', targetMb.toFixed(0)],
        [`TTFT, ${longLength}-token prompt, ms`, long.ttftMs.toFixed(0)],
        [`CPU of the ${longLength}-token prefill, ms`, long.admitCpuMs.toFixed(0)],
        ['TTFT, 16-token prompt, ms (best)', before.ttftMs.toFixed(0)],
        ['b1 decode before, tokens/s (best)', before.tokensPerS.toFixed(1)],
        ['b1 decode after, tokens/s (best)', after.tokensPerS.toFixed(1)],
        ['b1 decode before, CPU ms a token (best)', before.cpuMsPerToken.toFixed(1)],
        ['b1 decode after, CPU ms a token (best)', after.cpuMsPerToken.toFixed(1)],
      ],
    ),
  );
  return {
    shape: quick ? 'small' : 'llama-3.2-1b',
    prefill_chunk: chunk ?? prefillChunk(1, cfg.numHeads, longLength, Math.ceil((longLength + 1) / 64) * 64),
    packed_bytes: packedBytes,
    short_prompts_rss_mb: shortPeak,
    long_prompt_rss_mb: longPeak,
    after_long_prompt_rss_mb: afterPeak,
    serving_rss_mb: Math.max(shortPeak, longPeak, afterPeak),
    short_prompts_anon_mb: shortAnon,
    long_prompt_anon_mb: longAnon,
    after_long_prompt_anon_mb: afterAnon,
    rss_target_mb: targetMb,
    p1024_ttft_ms: long.ttftMs,
    p1024_prefill_cpu_ms: long.admitCpuMs,
    resident: Object.fromEntries(
      Object.entries(where).map(([phase, s]) => [
        phase,
        { anon_mb: s.anonMb, file_mb: s.fileMb, files_mb: Object.fromEntries(s.files.slice(0, 6)), js_heap_mb: s.jsHeapMb },
      ]),
    ),
    b1_before_tokens_per_s: before.tokensPerS,
    b1_after_tokens_per_s: after.tokensPerS,
    b1_after_vs_before: after.tokensPerS / before.tokensPerS,
    b1_after_vs_before_cpu: before.cpuMsPerToken / after.cpuMsPerToken,
  };
}

if (process.argv[2] === '--prepare') await prepare(process.argv[3], process.argv[4] === 'true');
