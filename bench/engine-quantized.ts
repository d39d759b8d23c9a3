/**
 * The engine benchmark's quantized bases: the same model served with int8 and int4 weights (MatMulNBits for every
 * projection and the LM head, gpu-backend/engine/quantized-weights.ts, default group size DEFAULT_WEIGHT_GROUP_SIZE) against fp32:
 *  - decode tokens/s at batch 1 and 32, the three variants measured in turn, round after round (best of each), so
 *    load on the machine falls on all of them alike;
 *  - logit drift against fp32 on a few prompts (max |Δlogit|, ‖Δ‖/‖logits‖, top-1 agreement at every position);
 *  - greedy exact-match accuracy of the default model's six task adapters (models/rankgate-tiny), each on its
 *    own int8/int4 base, against fp32.
 */
import { DEFAULT_WEIGHT_GROUP_SIZE, type WeightQuantization } from '../gpu-backend/engine/quantized-weights.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import type { ModelFolder } from '../gpu-backend/formats/files.ts';
import { forwardLogits, maxAbsDiff } from '../gpu-backend/cli/parity.ts';
import { accuracies, loadSuite } from './merge-suite.ts';
import { table } from './measure.ts';

const VARIANTS = ['fp32', 'int8', 'int4'] as const;
type Variant = (typeof VARIANTS)[number];
const QUANTIZATION: Record<Exclude<Variant, 'fp32'>, WeightQuantization> = { int8: { bits: 8 }, int4: { bits: 4 } };

export interface QuantizedResult {
  load_seconds: Record<'int8' | 'int4', number>;
  decode_tokens_per_s: Record<Variant, Record<number, number>>;
  drift: Record<'int8' | 'int4', { max_abs_logit: number; relative: number; top1_agreement: number }>;
  /** Mean exact match over the six tasks of rankgate-tiny (each task's own adapter), per task too. */
  task_accuracy: Record<Variant, { mean: number; per_task: Record<string, number> }>;
}

/**
 * @param fp32 the plain fp32 decoder of `folder` (no LoRA inputs), the baseline.
 * @param decodeTps decode tokens/s of `n` rows without adapters on a decoder (engine.ts's measurement).
 */
export async function quantizedBases(
  folder: ModelFolder,
  fp32: Decoder,
  quick: boolean,
  decodeTps: (n: number, engine: Decoder) => Promise<number>,
): Promise<QuantizedResult> {
  const decoders = { fp32 } as Record<Variant, Decoder>;
  const loadSeconds = {} as QuantizedResult['load_seconds'];
  for (const v of ['int8', 'int4'] as const) {
    const t = performance.now();
    decoders[v] = await Decoder.fromFolder(folder, { lora: false, weightQuantization: QUANTIZATION[v] });
    loadSeconds[v] = (performance.now() - t) / 1000;
  }

  const tps: QuantizedResult['decode_tokens_per_s'] = { fp32: { 1: 0, 32: 0 }, int8: { 1: 0, 32: 0 }, int4: { 1: 0, 32: 0 } };
  for (let round = 0; round < (quick ? 1 : 3); round++)
    for (const n of [1, 32]) for (const v of VARIANTS) tps[v][n] = Math.max(tps[v][n], await decodeTps(n, decoders[v]));

  const cfg = folder.config;
  const [rows, seq] = quick ? [2, 16] : [4, 32];
  const prompts = Array.from({ length: rows }, (_, r) => Array.from({ length: seq }, (_, j) => (r * 977 + j * 131 + 7) % cfg.vocabSize));
  const logitsOf = (d: Decoder) =>
    forwardLogits(
      d,
      prompts,
      prompts.map(() => null),
    );
  const reference = await logitsOf(fp32);
  const drift = {} as QuantizedResult['drift'];
  for (const v of ['int8', 'int4'] as const) {
    const got = await logitsOf(decoders[v]);
    drift[v] = {
      max_abs_logit: maxAbsDiff(got, reference),
      relative: relativeDiff(got, reference),
      top1_agreement: top1Agreement(got, reference, cfg.vocabSize),
    };
  }
  for (const v of ['int8', 'int4'] as const) await decoders[v].release();

  const suite = await loadSuite(quick ? 20 : 100);
  const taskAccuracy = {} as QuantizedResult['task_accuracy'];
  for (const v of VARIANTS) {
    const decoder = await Decoder.fromFolder(suite.base, v === 'fp32' ? {} : { weightQuantization: QUANTIZATION[v] });
    const acc = await accuracies(decoder, suite, (task) => task.adapter);
    await decoder.release();
    taskAccuracy[v] = {
      mean: acc.reduce((a, b) => a + b, 0) / acc.length,
      per_task: Object.fromEntries(suite.tasks.map((t, i) => [t.name, acc[i]])),
    };
  }

  console.log(
    `\nquantized bases (MatMulNBits, groups of ${DEFAULT_WEIGHT_GROUP_SIZE}, int8 activations), no adapters: decode tokens/s and drift against fp32`,
  );
  console.log(
    table(
      ['weights', 'load s', 'batch 1', 'vs fp32', 'batch 32', 'vs fp32', 'max |Δlogit|', '‖Δ‖/‖logits‖', 'top-1 agree', 'task accuracy'],
      VARIANTS.map((v) => [
        v,
        v === 'fp32' ? '-' : loadSeconds[v],
        tps[v][1],
        tps[v][1] / tps.fp32[1],
        tps[v][32],
        tps[v][32] / tps.fp32[32],
        v === 'fp32' ? 0 : drift[v].max_abs_logit,
        v === 'fp32' ? 0 : drift[v].relative,
        v === 'fp32' ? 1 : drift[v].top1_agreement,
        taskAccuracy[v].mean,
      ]),
    ),
  );
  console.log(
    `(drift on ${rows} prompts × ${seq} positions; task accuracy: rankgate-tiny's six adapters, ${suite.tasks[0].test.length} held-out lines each)`,
  );
  return { load_seconds: loadSeconds, decode_tokens_per_s: tps, drift, task_accuracy: taskAccuracy };
}

function relativeDiff(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Fraction of positions whose argmax agrees. */
function top1Agreement(got: Float32Array, want: Float32Array, vocab: number): number {
  const argmax = (x: Float32Array, at: number) => {
    let best = at;
    for (let i = at; i < at + vocab; i++) if (x[i] > x[best]) best = i;
    return best - at;
  };
  const positions = want.length / vocab;
  let same = 0;
  for (let p = 0; p < positions; p++) if (argmax(got, p * vocab) === argmax(want, p * vocab)) same++;
  return same / positions;
}
