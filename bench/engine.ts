/**
 * `npm run bench -- engine [--quick]`: serving speed of the engine on a random SmolLM2-135M-shaped model, fp32.
 *  - prefill tokens/s, batch 8 × 256 (base model), and its MFU: model FLOPs/s over this machine's MatMul peak
 *    through onnxruntime, the larger of two samples right before and right after the prefill (`withPeak`);
 *  - decode tokens/s at batch 1, 8 and 32: no adapters, and one distinct r=16 adapter (all seven projections)
 *    per row;
 *  - at batch 1 and 32, in turn: the base, one adapter per row, the same adapters through one shared basis (k = 16
 *    per module; engine-shared.ts), and the LoRA graph with no adapter; the ratios to the base (adapter_vs_base_b1,
 *    decode_multi_vs_base, decode_shared_vs_base) come from these;
 *  - the naive way: the same 32 requests served one adapter at a time (batch 1, one after another);
 *  - time to the first token of a task of a cached shared basis as served (shared path), of the same rebuilt as an
 *    adapter, and of a compressed int8 adapter (engine-shared.ts);
 *  - batch 8 of requests each mixing 2 adapters against batch 8 of one adapter each (engine-mix.ts);
 *  - int8 and int4 bases against fp32: decode at batch 1 and 32, logit drift, task accuracy (engine-quantized.ts);
 *  - decode at batch 8 with every row under a JSON schema, over the same rows free (engine-json.ts).
 */
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { executionProviderInUse } from '../gpu-backend/engine/providers.ts';
import { generate, newRow, RunningBatch, type GenerationRequest } from '../gpu-backend/engine/generate.ts';
import { LoraRows } from '../gpu-backend/engine/lora-rows.ts';
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { layerMatmulParams, randomAdapter, randomModel, SMOLLM2_135M } from './models.ts';
import { quantizedBases } from './engine-quantized.ts';
import { mixVsSingle } from './engine-mix.ts';
import { basisFor, firstTokens, SHARED_K } from './engine-shared.ts';
import { jsonSchemaVsFree } from './engine-json.ts';
import { table, timeIt, withPeak } from './measure.ts';

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(SMOLLM2_135M);
  const cfg = folder.config;
  let t = performance.now();
  const decoder = await Decoder.fromFolder(folder);
  const loadSeconds = (performance.now() - t) / 1000;
  console.log(`model load (graph build + session): ${loadSeconds.toFixed(1)} s`);
  // The plain base model, without LoRA inputs: what multi-adapter decoding is compared against.
  const plain = await Decoder.fromFolder(folder, { lora: false });

  // Prefill: batch 8 × 256, logits at the last position of each row.
  const [pb, pt] = quick ? [2, 128] : [8, 256];
  const tokens = Array.from({ length: pb * pt }, (_, i) => (i * 7919) % cfg.vocabSize);
  const lora0 = new LoraRows(cfg, pb);
  const peakSize = quick ? 1024 : 2048;
  const {
    value: prefillSeconds,
    peak,
    before,
    after,
  } = await withPeak(peakSize, () =>
    timeIt(
      () =>
        decoder.step({
          tokens,
          rows: pb,
          seq: pt,
          newLengths: new Array(pb).fill(pt),
          cache: null,
          lora: lora0,
          logitsAt: new Array(pb).fill([pt - 1]),
        }),
      { warmup: 1, repeat: quick ? 1 : 2 },
    ),
  );
  console.log(
    `MatMul peak (onnxruntime ${executionProviderInUse()}, ${peakSize}³ fp32): ${before.toFixed(1)} before the prefill, ${after.toFixed(1)} after: ${peak.toFixed(1)} GFLOP/s`,
  );
  const hq = cfg.numHeads * cfg.headDim;
  const prefillFlops =
    2 * cfg.numLayers * layerMatmulParams(cfg) * pb * pt + // projections
    4 * cfg.numLayers * pb * pt * pt * hq + // attention scores and context (full square, as computed)
    2 * pb * cfg.hiddenSize * cfg.vocabSize; // LM head at one position per row
  const prefillTps = (pb * pt) / prefillSeconds;
  const prefillMfu = prefillFlops / prefillSeconds / 1e9 / peak;

  // Decode: rows prefilled with `ctx`-token prompts, then `steps` decode steps timed on their own.
  const [ctx, steps] = quick ? [16, 8] : [32, 64];
  const adapters: LoraAdapter[] = Array.from({ length: 32 }, (_, i) => randomAdapter(cfg, 16, i + 1));
  const shared = await basisFor(adapters, cfg, quick);
  if (shared.fitted) console.log(`joint compression of the 32 adapters at k = ${SHARED_K}: ${shared.seconds.toFixed(1)} s`);
  /** true: adapter i on row i; 'shared': task i of the shared basis on row i; false: the base. */
  const requests = (n: number, withAdapters: boolean | 'shared'): GenerationRequest[] =>
    Array.from({ length: n }, (_, i) => ({
      prompt: Array.from({ length: ctx }, (_, j) => (i * 131 + j * 17 + 3) % cfg.vocabSize),
      adapter: withAdapters === true ? adapters[i] : null,
      shared: withAdapters === 'shared' ? { basis: shared.basis, task: i } : undefined,
      maxTokens: steps + 1,
    }));
  const decodeTps = async (n: number, withAdapters: boolean | 'shared', engine = decoder) => {
    let best = 0;
    for (let rep = 0; rep < (quick ? 1 : 2); rep++) {
      const batch = new RunningBatch(engine, n);
      await batch.admit(requests(n, withAdapters).map((r, i) => newRow(r, i)));
      await batch.decode(); // warm-up
      const t0 = performance.now();
      for (let s = 1; s < steps; s++) await batch.decode();
      best = Math.max(best, (n * (steps - 1)) / ((performance.now() - t0) / 1000));
    }
    return best;
  };
  const rows: (string | number)[][] = [];
  const decode: Record<string, { base: number; base_lora_graph: number; multi: number }> = {};
  for (const n of [1, 8, 32]) {
    const base = await decodeTps(n, false, plain);
    const baseLoraGraph = await decodeTps(n, false);
    const multi = await decodeTps(n, true);
    decode[n] = { base, base_lora_graph: baseLoraGraph, multi };
    rows.push([n, base, baseLoraGraph, multi, multi / base]);
  }
  // Batch 1 and 32 again, in turn round after round (best of each), so load on the machine falls on all alike: the
  // base, one adapter per row, the same adapters as tasks of the shared basis, and the LoRA graph with
  // no adapter. The ratios against the base come from these.
  const inTurn = async (n: number) => {
    const best = { base: 0, multi: 0, shared: 0, lora_graph: 0 };
    for (let round = 0; round < (quick ? 2 : 3); round++) {
      best.base = Math.max(best.base, await decodeTps(n, false, plain));
      best.multi = Math.max(best.multi, await decodeTps(n, true));
      best.shared = Math.max(best.shared, await decodeTps(n, 'shared'));
      best.lora_graph = Math.max(best.lora_graph, await decodeTps(n, false));
    }
    return best;
  };
  const b1 = await inTurn(1);
  const b32 = await inTurn(32);
  const firstToken = await firstTokens(decoder, adapters[0], quick);
  const mix = await mixVsSingle(decoder, adapters, ctx, steps, quick);

  // The naive way: the same 32 requests (each with its own adapter), one at a time, each served alone,
  // against all 32 in one continuously batched run. End to end: prefill, adapter swap and decode.
  t = performance.now();
  for (const req of requests(32, true)) await generate(decoder, [req], { maxBatch: 1 });
  const swapSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  await generate(decoder, requests(32, true), { maxBatch: 32 });
  const multiSeconds = (performance.now() - t) / 1000;

  console.log(
    `\nprefill ${pb}×${pt}: ${prefillTps.toFixed(0)} tokens/s, ${(prefillFlops / prefillSeconds / 1e9).toFixed(1)} GFLOP/s, MFU ${prefillMfu.toFixed(3)}`,
  );
  console.log(`\ndecode (prompt ${ctx}, ${steps} new tokens per request), tokens/s:`);
  console.log(table(['batch', 'base model', 'LoRA graph, no adapter', 'one adapter per row', 'multi/base'], rows));
  console.log(
    `\n32 requests (prompt ${ctx}, ${steps + 1} new tokens), each with its own adapter: one batch ${multiSeconds.toFixed(2)} s, one at a time ${swapSeconds.toFixed(2)} s`,
  );

  console.log(`\ndecode measured in turn (best of ${quick ? 2 : 3} rounds), tokens/s:`);
  console.log(
    table(
      ['batch', 'base model', 'one adapter per row', `tasks of one shared basis (k ${SHARED_K})`, 'LoRA graph, no adapter'],
      [1, 32].map((n) => {
        const b = n === 1 ? b1 : b32;
        return [n, b.base, b.multi, b.shared, b.lora_graph];
      }),
    ),
  );
  console.log(
    `\nfirst token (in process, Scheduler, prompt 16): task of a cached rmm_shared merge as served (shared path) ${firstToken.revert_first_token_ms.toFixed(1)} ms, the same task rebuilt as an adapter ${firstToken.rebuild_first_token_ms.toFixed(1)} ms (rebuild ${firstToken.revert_rebuild_ms.toFixed(1)} ms), compressed int8 adapter from its folder ${firstToken.compressed_first_token_ms.toFixed(1)} ms, the base alone ${firstToken.base_first_token_ms.toFixed(1)} ms`,
  );

  console.log(
    `\nbatch 8, each row mixing 2 adapters (cat, rank 32) ${mix.mix2_tokens_per_s.toFixed(0)} tokens/s, each row one adapter (rank 16) ${mix.single_tokens_per_s.toFixed(0)}: ${mix.mix2_vs_single_b8.toFixed(2)}`,
  );

  const json = await jsonSchemaVsFree(decoder, (n) => requests(n, true), steps, quick ? 1 : 3);
  console.log(
    `\nJSON schema, batch 8 (one adapter per row): ${json.decode_b8_tokens_per_s.json_schema.toFixed(0)} tokens/s under the schema, ${json.decode_b8_tokens_per_s.free.toFixed(0)} free: ${json.json_schema_vs_free_b8.toFixed(2)}; xgrammar tokenizer info ${json.tokenizer_info_ms.toFixed(0)} ms, schema compile ${json.compile_ms.toFixed(0)} ms`,
  );

  const quantized = await quantizedBases(folder, plain, quick, (n, engine) => decodeTps(n, false, engine));
  const ratio = (v: 'int8' | 'int4', n: 1 | 32) => quantized.decode_tokens_per_s[v][n] / quantized.decode_tokens_per_s.fp32[n];

  return {
    bench: 'engine',
    quick,
    model: 'SmolLM2-135M shape, random weights, fp32',
    matmul_peak_gflops: peak,
    matmul_peak_samples_gflops: [before, after],
    load_seconds: loadSeconds,
    prefill: { batch: pb, seq: pt, tokens_per_s: prefillTps, gflops: prefillFlops / prefillSeconds / 1e9 },
    decode_tokens_per_s: decode,
    adapter_vs_base_b1: b1.multi / b1.base,
    lora_graph_vs_base_b1: b1.lora_graph / b1.base,
    shared_vs_base_b1: b1.shared / b1.base,
    decode_multi_vs_base: b32.multi / b32.base,
    decode_shared_vs_base: b32.shared / b32.base,
    lora_graph_vs_base_b32: b32.lora_graph / b32.base,
    decode_b1_in_turn_tokens_per_s: b1,
    decode_b32_in_turn_tokens_per_s: b32,
    shared_basis: { k: SHARED_K, tasks: 32, fitted: shared.fitted, fit_seconds: shared.seconds },
    revert_first_token_ms: firstToken.revert_first_token_ms,
    revert_vs_base_first_token: firstToken.revert_first_token_ms / firstToken.base_first_token_ms,
    rebuild_first_token_ms: firstToken.rebuild_first_token_ms,
    compressed_first_token_ms: firstToken.compressed_first_token_ms,
    revert_rebuild_ms: firstToken.revert_rebuild_ms,
    base_first_token_ms: firstToken.base_first_token_ms,
    multi_vs_swap: swapSeconds / multiSeconds,
    mix2_vs_single_b8: mix.mix2_vs_single_b8,
    mix2: mix,
    prefill_mfu: prefillMfu,
    int4_vs_fp32_b1: ratio('int4', 1),
    int8_vs_fp32_b1: ratio('int8', 1),
    int4_vs_fp32_b32: ratio('int4', 32),
    int8_vs_fp32_b32: ratio('int8', 32),
    int8_max_abs_logit_drift: quantized.drift.int8.max_abs_logit,
    int4_max_abs_logit_drift: quantized.drift.int4.max_abs_logit,
    quantized_bases: quantized,
    json_schema_vs_free_b8: json.json_schema_vs_free_b8,
    json_schema: json,
  };
}
