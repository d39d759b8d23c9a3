/**
 * `npm run bench -- adapter-rss [--quick]`: where a process's memory goes when it serves 8 r16 adapters (all seven
 * projections) on an int4 base, as `bench scale` serves them, without its 10 GB training step: the Llama-3.2-1B layer
 * shape with 4 layers (2 with --quick) and a 32,000-token vocabulary, so every per-layer figure is the 1B model's and
 * the whole fits a shared machine. In one process, in this order: the base decodes 8 rows at batch 8 (what the
 * batch-8 step costs without adapters); each adapter serves one token (loaded); one adapter decodes at batch 1; the
 * 8 decode together at batch 8. RSS after each, and JS's ArrayBuffer bytes (adapter factors and their copies live
 * there; onnxruntime's arena does not). A RunningBatch of 64 rows, the scheduler's default.
 */
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { table } from './measure.ts';
import { randomAdapter, randomModel } from './models.ts';
import { LLAMA_1B_CONFIG } from './random-checkpoint.ts';

const ADAPTERS = 8;
const MB = 2 ** 20;

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const layers = quick ? 2 : 4;
  const folder = randomModel({ ...LLAMA_1B_CONFIG, num_hidden_layers: layers, vocab_size: 32000 });
  const decoder = await Decoder.fromFolder(folder, { weightQuantization: { bits: 4 } });
  const stages: [string, number, number][] = [];
  const snap = (stage: string) => {
    const m = process.memoryUsage();
    stages.push([stage, m.rss / MB, m.arrayBuffers / MB]);
  };
  snap('int4 base loaded');
  const adapters: LoraAdapter[] = Array.from({ length: ADAPTERS }, (_, i) => randomAdapter(decoder.cfg, 16, i + 1));
  const factorMb = adapters.flatMap((a) => a.modules).reduce((s, m) => s + 4 * (m.a.length + m.b.length), 0) / MB;
  snap(`${ADAPTERS} adapters in memory`);
  const batch = new RunningBatch(decoder, 64);
  const serve = async (rows: (LoraAdapter | null)[], tokens: number) => {
    const prompt = (i: number) => Array.from({ length: 16 }, (_, j) => (i * 7 + j * 13 + 1) % 32000);
    await batch.admit(rows.map((adapter, i) => newRow({ prompt: prompt(i), adapter, maxTokens: tokens }, i)));
    while (batch.size > 0) await batch.decode();
  };
  await serve(new Array(ADAPTERS).fill(null), 8);
  snap('base, batch 8, 8 tokens');
  for (const a of adapters) await serve([a], 1);
  snap('each adapter served 1 token');
  for (let i = 0; i < 3; i++) await serve([adapters[0]], 8);
  snap('one adapter, batch 1, 3 × 8 tokens');
  await serve(adapters, 8);
  snap(`${ADAPTERS} adapters, batch ${ADAPTERS}, 8 tokens`);
  await decoder.release();

  const rows = stages.map(([stage, rss, ab], i) => [stage, rss, i ? rss - stages[i - 1][1] : 0, ab]);
  console.log(`Llama-3.2-1B layer shape, ${layers} layers, int4; ${ADAPTERS} r16 adapters = ${factorMb.toFixed(0)} MB of float32 factors`);
  console.log(table(['after', 'RSS MB', 'Δ MB', 'JS ArrayBuffers MB'], rows));
  const at = (i: number) => stages[i][1];
  // What the adapters add: from the adapters in memory to the end, less the base's own batch-8 step.
  const adapterMb = at(stages.length - 1) - at(1) - (at(2) - at(1));
  return {
    bench: 'adapter-rss',
    quick,
    model: `Llama-3.2-1B layer shape, ${layers} layers, vocab 32000, int4`,
    factor_mb: factorMb,
    rss_mb: Object.fromEntries(stages.map(([s, rss]) => [s, rss])),
    base_batch8_step_mb: at(2) - at(1),
    adapters_serving_mb: adapterMb,
    adapters_serving_vs_factors: adapterMb / factorMb,
  };
}
