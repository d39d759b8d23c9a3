/**
 * A base model served with int8 or int4 weights: every projection (q, k, v, o, gate, up, down) and the LM head
 * quantized group-wise by the lowrank quantizer (quantize-matrix.ts, already in MatMulNBits layout; at load, or
 * once by a quantization job whose stored result loads as is) and run through onnxruntime's com.microsoft MatMulNBits. Norms and the token embedding stay float32 (the embedding
 * is a lookup, not a MatMul), and so does the LoRA branch: adapters apply on top unchanged.
 */
import { DEFAULT_QUANTIZATION_GROUP_SIZE } from '../../contracts/api/jobs.ts';
import { SERVED_WEIGHT_BITS } from '../../contracts/api/routed-target.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import { numel } from '../../contracts/formats/safetensors.ts';
import type { QuantBits, QuantGroupSize } from '../lowrank/quantize-matrix.ts';
import { weightName } from './llama.ts';
import { expectedWeightShapes } from './weights.ts';

export interface WeightQuantization {
  bits: QuantBits;
  /** Elements along K that share a scale (MatMulNBits block_size); default 128. */
  groupSize?: QuantGroupSize;
  /** No zero points (each group centred on 0); default false: asymmetric groups fit skewed weights better at 4 bits. */
  symmetric?: boolean;
  /**
   * MatMulNBits accuracy_level. Default 4: activations quantized to int8 per block, onnxruntime's fast CPU kernels
   * for both widths. 0 keeps activations float32; at 8 bits onnxruntime 1.30 then has no fused CPU kernel and
   * dequantizes the whole weight on every run (20–90× slower than level 4, measured).
   */
  accuracyLevel?: 0 | 4;
}

/** The contract's list (routed-target.ts): what the edge accepts in model ids is what the engine builds. */
export const SERVABLE_WEIGHT_BITS: readonly QuantBits[] = SERVED_WEIGHT_BITS;
/** The quantization job's default (contracts/api/jobs.ts says why 128), so a base quantized at load matches one stored. */
export const DEFAULT_WEIGHT_GROUP_SIZE: QuantGroupSize = DEFAULT_QUANTIZATION_GROUP_SIZE;

/** Checks a request for quantized weights (it may come from an API body) and fills in the defaults. */
export function checkWeightQuantization(q: WeightQuantization): Required<WeightQuantization> {
  const { bits, groupSize = DEFAULT_WEIGHT_GROUP_SIZE, symmetric = false, accuracyLevel = 4 } = q;
  if (!SERVABLE_WEIGHT_BITS.includes(bits))
    invalid(
      'unsupported_weight_bits',
      `a base model can be served with ${SERVABLE_WEIGHT_BITS.join(' or ')}-bit weights (or unquantized), not ${JSON.stringify(bits)}.`,
      'bits',
    );
  if (groupSize !== 32 && groupSize !== 64 && groupSize !== 128)
    invalid('unsupported_group_size', `group size is ${JSON.stringify(groupSize)}; use 32, 64 or 128 weights per scale.`, 'group_size');
  if (typeof symmetric !== 'boolean')
    invalid('bad_symmetric', `symmetric is ${JSON.stringify(symmetric)}; give true or false.`, 'symmetric');
  if (accuracyLevel !== 0 && accuracyLevel !== 4)
    invalid('bad_accuracy_level', `accuracy level is ${JSON.stringify(accuracyLevel)}; use 4 (int8 activations) or 0 (float32).`);
  return { bits, groupSize, symmetric, accuracyLevel };
}

/**
 * The MatMulNBits initializers' shapes for W [n, k], named on disk as quantize-file.ts names them
 * (`<name>.qweight`, `.scales`, `.zero_points`; no zero points when symmetric).
 */
export function nbitsShapes(
  n: number,
  k: number,
  q: Required<WeightQuantization>,
): { qweight: number[]; scales: number[]; zeroPoints?: number[] } {
  const nBlocks = Math.ceil(k / q.groupSize);
  return {
    qweight: [n, nBlocks, (q.groupSize * q.bits) / 8],
    scales: [n * nBlocks],
    zeroPoints: q.symmetric ? undefined : [n * Math.ceil((nBlocks * q.bits) / 8)],
  };
}

/** Whether a quantized base serves the checkpoint's weight `name` as MatMulNBits (the projections and the LM head). */
export const isQuantizedWeight = (name: string): boolean => name === weightName.lmHead || /_proj\.weight$/.test(name);

/**
 * Bytes of weights a decoder of `cfg` holds when served with `q` (null: float32): codes, scales and zero points
 * of the quantized matrices, float32 for the rest. The embedding table counts only as the float32 head of a tied,
 * unquantized model: otherwise its rows are read from the checkpoint's file at each step (embedding-table.ts), and
 * the process holds none of it. What a model cache should count for a base instead of its checkpoint's size.
 */
export function servedWeightBytes(cfg: ModelConfig, q: WeightQuantization | null): number {
  const quant = q && checkWeightQuantization(q);
  const matrix = (n: number, k: number) => {
    if (!quant) return 4 * n * k;
    const nBlocks = Math.ceil(k / quant.groupSize);
    const zeroPoints = quant.symmetric ? 0 : n * Math.ceil((nBlocks * quant.bits) / 8);
    return (n * nBlocks * quant.groupSize * quant.bits) / 8 + 4 * n * nBlocks + zeroPoints;
  };
  let bytes = 0;
  for (const [name, shape] of expectedWeightShapes(cfg)) {
    if (name === weightName.embed && !(cfg.tieWordEmbeddings && !quant)) continue;
    bytes += isQuantizedWeight(name) ? matrix(shape[0], shape[1]) : 4 * numel(shape);
  }
  if (cfg.tieWordEmbeddings && quant) bytes += matrix(cfg.vocabSize, cfg.hiddenSize);
  return bytes;
}
