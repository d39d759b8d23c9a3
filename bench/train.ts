/**
 * `npm run bench -- train [--quick]`: LoRA training speed on a random SmolLM2-135M-shaped model, fp32, r=16 on
 * all seven projections, batch 8 × 256 tokens. Reports training tokens/s, `train_mfu` (model FLOPs of forward +
 * input-gradient backward per second ÷ the MatMul peak measured in the same run; recomputation and LoRA
 * gradients are work the engine does but are not counted) and the process's peak RSS. The peak is the larger of
 * two samples, right before and right after the timed steps (`withPeak`).
 */
import { resourceUsage } from 'node:process';
import { PROJECTIONS } from '../contracts/formats/hf-config.ts';
import { parseLoraConfig, resolveTargets } from '../contracts/formats/peft-config.ts';
import { float32Weights } from '../gpu-backend/engine/weights.ts';
import { Backprop, countTargets, type TokenBatch } from '../gpu-backend/train/backprop.ts';
import { initLoraParams } from '../gpu-backend/train/lora-params.ts';
import { layerMatmulParams, randomModel, SMOLLM2_135M } from './models.ts';
import { table, timeIt, withPeak } from './measure.ts';

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(quick ? { ...SMOLLM2_135M, num_hidden_layers: 6 } : SMOLLM2_135M);
  const cfg = folder.config;
  const targets = resolveTargets(parseLoraConfig({ r: 16, lora_alpha: 32, target_modules: [...PROJECTIONS] }), cfg);
  const params = initLoraParams(cfg, targets, 1);
  for (const p of params.values()) if (p.every((x) => x === 0)) p.fill(1e-3); // non-zero B, as mid-training
  const backprop = new Backprop(cfg, float32Weights(cfg, folder.weights), { kind: 'lora', targets }, params);

  const [B, T] = quick ? [4, 128] : [8, 256];
  const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i * 7919 + 13) % cfg.vocabSize);
  const batch: TokenBatch = { batch: B, seq: T, inputIds, labels: inputIds, lengths: new Array(B).fill(T) };
  const {
    value: seconds,
    peak,
    before,
    after,
  } = await withPeak(quick ? 1024 : 2048, () =>
    timeIt(() => backprop.run(batch, 1 / countTargets(batch)), { warmup: 1, repeat: quick ? 1 : 2 }),
  );
  const tokens = B * T;
  const hq = cfg.numHeads * cfg.headDim;
  const forward =
    2 * cfg.numLayers * layerMatmulParams(cfg) * tokens + // projections
    4 * cfg.numLayers * B * T * T * hq + // attention scores and context (full square, as computed)
    2 * tokens * cfg.hiddenSize * cfg.vocabSize; // LM head
  const modelFlops = 2 * forward; // forward + input-gradient backward
  const trainMfu = modelFlops / seconds / 1e9 / peak;
  const peakRssMb = resourceUsage().maxRSS / 1024;
  await backprop.release();

  console.log(
    table(
      ['what', 'value'],
      [
        ['MatMul peak (GFLOP/s)', peak],
        [`model`, quick ? 'SmolLM2-135M shape, 6 layers' : 'SmolLM2-135M shape'],
        ['batch', `${B} × ${T}`],
        ['step (s)', seconds],
        ['training tokens/s', tokens / seconds],
        ['model GFLOP/s (fwd + input-grad bwd)', modelFlops / seconds / 1e9],
        ['train_mfu', trainMfu],
        ['peak RSS (MB)', peakRssMb],
      ],
    ),
  );
  return {
    bench: 'train',
    quick,
    matmul_peak_gflops: peak,
    matmul_peak_samples_gflops: [before, after],
    step_seconds: seconds,
    tokens_per_s: tokens / seconds,
    train_mfu: trainMfu,
    peak_rss_mb: peakRssMb,
  };
}
