/**
 * A base model's quantized weights stored once (by a quantization job) and loaded as they are: one safetensors
 * file holding, for every projection and the LM head, the MatMulNBits codes, scales and zero points, named as the
 * serving graph names them (`model.layers.0.self_attn.q_proj.qweight`, ...), with the quantization in its
 * metadata. Loading it (`Decoder.fromFolder(base, { ...packed })`) reads those bytes instead of quantizing; norms
 * and the embedding still come from the base checkpoint.
 */
import { InvalidInputError, invalid } from '../../contracts/formats/errors.ts';
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import { type Checkpoint, openSafetensors, type TensorSource } from '../formats/checkpoint.ts';
import { ExternalWeights } from './external-weights.ts';
import { buildInferenceGraph } from './inference-graph.ts';
import { checkWeightQuantization, type WeightQuantization } from './quantized-weights.ts';

const FORMAT = 'rankgate-packed-weights';

/** Quantizes `checkpoint` matrix by matrix into `path` (one matrix in memory at a time). */
export async function writePackedWeights(cfg: ModelConfig, checkpoint: TensorSource, q: WeightQuantization, path: string): Promise<void> {
  const quant = checkWeightQuantization(q);
  const weights = new ExternalWeights();
  buildInferenceGraph(cfg, weights, { weightQuantization: quant, lora: false });
  await weights.writePacked(path, checkpoint, {
    format: FORMAT,
    bits: String(quant.bits),
    group_size: String(quant.groupSize),
    symmetric: String(quant.symmetric),
  });
}

/** A stored packed-weights file, with the quantization it was made with (its header checked, nothing read). */
export async function openPackedWeights(
  path: string,
): Promise<{ weightQuantization: Required<WeightQuantization>; packedWeights: Checkpoint }> {
  const packedWeights = await openSafetensors(path).catch((err) => {
    if (!(err instanceof InvalidInputError)) throw err;
    return invalid(
      'quantized_weights_corrupt',
      `the stored quantized weights are unreadable (${err.message}); run the quantization job again.`,
    );
  });
  const m = packedWeights.metadata;
  if (m.format !== FORMAT)
    invalid(
      'quantized_weights_corrupt',
      `${path} is not a packed-weights file (format ${JSON.stringify(m.format)}); run the quantization job again.`,
    );
  const weightQuantization = checkWeightQuantization({
    bits: Number(m.bits) as 4 | 8,
    groupSize: Number(m.group_size) as 32,
    symmetric: m.symmetric === 'true',
  });
  return { weightQuantization, packedWeights };
}
