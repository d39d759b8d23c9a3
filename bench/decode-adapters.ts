/**
 * `npm run bench -- decode-adapters [--quick]`: what a step costs on the serve benchmark's 135M shape by the adapters
 * its rows hold (r 16 on q_proj and v_proj, as bench serve's): 64 decode rows of one adapter (broadcast over the
 * batch), of 2 (each row multiplies its own factors) and of a Zipf draw from 32; 10 prefilled prompts of 55 tokens
 * of one adapter and of a Zipf draw. The cases run interleaved, step by step, and each step is timed in CPU time
 * (all threads) as well as wall time, so load from other work falls on every case alike; the keys are ratios of
 * medians to the one-adapter case (bench serve-replay's MIXED_DECODE is `mixed_decode_cpu_ratio`), and the
 * one-adapter decode step's MFU against the MatMul peak sampled before and after.
 */
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { median, table, withPeak } from './measure.ts';
import { layerMatmulParams, randomAdapter, randomModel, SMOLLM2_135M } from './models.ts';
import { ADAPTER_RANK } from './serve-model.ts';
import { zipf } from './serve-load.ts';

const DECODE_ROWS = 64;
const PREFILL_ROWS = 10;
const PROMPT = 55;

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Wall and CPU milliseconds of `fn` (CPU time of every thread of this process: onnxruntime's pool included). */
async function timed(fn: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 };
}

/** Runs each case's step in turn, `repeat` times; the median wall and CPU time of each. */
async function interleaved(cases: Record<string, () => Promise<unknown>>, repeat: number): Promise<Record<string, Timing>> {
  const samples: Record<string, Timing[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let i = 0; i < repeat; i++) for (const [name, step] of Object.entries(cases)) samples[name].push(await timed(step));
  return Object.fromEntries(
    Object.entries(samples).map(([name, ts]) => [name, { wallMs: median(ts.map((t) => t.wallMs)), cpuMs: median(ts.map((t) => t.cpuMs)) }]),
  );
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const decoder = await Decoder.fromFolder(randomModel(SMOLLM2_135M));
  const adapters = Array.from({ length: 32 }, (_, i) => randomAdapter(decoder.cfg, ADAPTER_RANK, i + 1, ['q_proj', 'v_proj']));
  const popular = zipf(adapters.length);
  const random = rng(7);
  const zipfRows = (n: number) => Array.from({ length: n }, () => adapters[popular(random())]);
  const prompt = (i: number) => Array.from({ length: PROMPT }, (_, j) => (i * 131 + j * 17 + 3) % 1000);
  const [decodeSteps, prefills] = quick ? [6, 2] : [15, 4];

  const decodeRows: Record<string, LoraAdapter[]> = {
    one: Array(DECODE_ROWS).fill(adapters[0]),
    two: Array.from({ length: DECODE_ROWS }, (_, i) => adapters[i % 2]),
    zipf: zipfRows(DECODE_ROWS),
  };
  const prefillRows: Record<string, LoraAdapter[]> = { one: Array(PREFILL_ROWS).fill(adapters[0]), zipf: zipfRows(PREFILL_ROWS) };
  const distinct = (rows: LoraAdapter[]) => new Set(rows).size;

  const { value, peak, before, after } = await withPeak(quick ? 1024 : 2048, async () => {
    // One batch per case, prefilled once, then decoded step by step in turn (short prompts: the cache stays small).
    const batches: Record<string, RunningBatch> = {};
    for (const [name, rows] of Object.entries(decodeRows)) {
      const batch = new RunningBatch(decoder, DECODE_ROWS);
      await batch.admit(rows.map((adapter, i) => newRow({ prompt: prompt(i).slice(0, 16), adapter, maxTokens: decodeSteps + 2 }, i)));
      await batch.decode();
      batches[name] = batch;
    }
    const decode = await interleaved(
      Object.fromEntries(Object.entries(batches).map(([name, batch]) => [name, () => batch.decode()])),
      decodeSteps,
    );
    const prefill = await interleaved(
      Object.fromEntries(
        Object.entries(prefillRows).map(([name, rows]) => [
          name,
          () =>
            new RunningBatch(decoder, PREFILL_ROWS).admit(
              rows.map((adapter, i) => newRow({ prompt: prompt(i), adapter, maxTokens: 1 }, i)),
            ),
        ]),
      ),
      prefills,
    );
    return { decode, prefill };
  });
  const { decode, prefill } = value;
  const cfg = decoder.cfg;
  const decodeFlops = 2 * DECODE_ROWS * (cfg.numLayers * layerMatmulParams(cfg) + cfg.vocabSize * cfg.hiddenSize);
  console.log(
    table(
      ['step', 'rows', 'adapters', 'wall ms (median)', 'CPU ms (median)', 'CPU / one adapter'],
      [
        ...Object.entries(decode).map(([name, t]) => [
          'decode',
          DECODE_ROWS,
          distinct(decodeRows[name]),
          t.wallMs,
          t.cpuMs,
          t.cpuMs / decode.one.cpuMs,
        ]),
        ...Object.entries(prefill).map(([name, t]) => [
          `prefill ${PROMPT} tokens`,
          PREFILL_ROWS,
          distinct(prefillRows[name]),
          t.wallMs,
          t.cpuMs,
          t.cpuMs / prefill.one.cpuMs,
        ]),
      ],
    ),
  );
  console.log(`MatMul peak ${before.toFixed(0)} GFLOP/s before, ${after.toFixed(0)} after`);
  return {
    bench: 'decode-adapters',
    quick,
    decode_rows: DECODE_ROWS,
    decode_ms: decode,
    prefill_rows: PREFILL_ROWS,
    prefill_ms: prefill,
    zipf_distinct_adapters: { decode: distinct(decodeRows.zipf), prefill: distinct(prefillRows.zipf) },
    mixed_decode_cpu_ratio: decode.zipf.cpuMs / decode.one.cpuMs,
    two_adapters_decode_cpu_ratio: decode.two.cpuMs / decode.one.cpuMs,
    mixed_prefill_cpu_ratio: prefill.zipf.cpuMs / prefill.one.cpuMs,
    matmul_peak_gflops: { before, after, peak },
    // The one-adapter decode step's FLOPs per second (base projections and head) over the peak, so runs compare.
    one_decode_mfu: decodeFlops / (decode.one.wallMs / 1000) / (peak * 1e9),
  };
}
