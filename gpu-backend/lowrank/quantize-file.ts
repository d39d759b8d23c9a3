/**
 * The safetensors file of quantized weights. For a weight named `<name>.weight` (a PEFT `...lora_A.weight`, a
 * base `...q_proj.weight`), with `<name>` the name without `.weight`:
 *   `<name>.qweight`      U8  [N, n_blocks, blob_size]   MatMulNBits input B
 *   `<name>.scales`       F32 [N·n_blocks]               MatMulNBits input scales
 *   `<name>.zero_points`  U8  [N·ceil(n_blocks·bits/8)]  MatMulNBits input zero_points (asymmetric only)
 * and string metadata `quant_method` = "matmul_nbits", `bits`, `block_size`, `symmetric` ("true"/"false"),
 * and per weight `<name>.N`, `<name>.K` (the unpadded K; both are MatMulNBits attributes).
 *
 * An adapter with int8/int4 factors is an ordinary adapter folder whose adapter_model.safetensors is such a file
 * (`quantizedAdapterFiles` in quantize.ts); `dequantizedTensors` turns it back into PEFT's float32 tensors.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import type { Tensor } from '../../contracts/formats/safetensors.ts';
import { blocksPerRow, checkQuantizeOptions, dequantizeMatrix, type QuantizedMatrix, type QuantizeOptions } from './quantize-matrix.ts';

export interface QuantizedFile {
  tensors: [string, Tensor][];
  metadata: Record<string, string>;
}

const baseName = (weightName: string) => weightName.replace(/\.weight$/, '');

/** The safetensors tensors and metadata of a set of quantized weights, keyed by their weight names. */
export function quantizedFile(matrices: Map<string, QuantizedMatrix>, opts: QuantizeOptions): QuantizedFile {
  const metadata: Record<string, string> = {
    quant_method: 'matmul_nbits',
    bits: String(opts.bits),
    block_size: String(opts.groupSize),
    symmetric: String(opts.symmetric),
  };
  const tensors: [string, Tensor][] = [];
  for (const [weightName, q] of matrices) {
    const name = baseName(weightName);
    const nBlocks = blocksPerRow(q.k, q.blockSize);
    tensors.push([`${name}.qweight`, { dtype: 'U8', shape: [q.n, nBlocks, (q.blockSize * q.bits) / 8], data: q.qweight }]);
    tensors.push([`${name}.scales`, { dtype: 'F32', shape: [q.scales.length], data: q.scales }]);
    if (q.zeroPoints) tensors.push([`${name}.zero_points`, { dtype: 'U8', shape: [q.zeroPoints.length], data: q.zeroPoints }]);
    metadata[`${name}.N`] = String(q.n);
    metadata[`${name}.K`] = String(q.k);
  }
  return { tensors, metadata };
}

/** The quantized weights of a file written by `quantizedFile`, keyed by `<name>` (without `.weight`). */
export function readQuantizedFile(tensors: Map<string, Tensor>, metadata: Record<string, string>): Map<string, QuantizedMatrix> {
  if (metadata.quant_method !== 'matmul_nbits')
    invalid('bad_quantized_file', `quant_method is ${metadata.quant_method}; expected "matmul_nbits".`);
  const bits = Number(metadata.bits) as QuantizeOptions['bits'];
  const groupSize = Number(metadata.block_size) as QuantizeOptions['groupSize'];
  checkQuantizeOptions({ bits, groupSize, symmetric: metadata.symmetric === 'true' });
  const out = new Map<string, QuantizedMatrix>();
  for (const [key, t] of tensors) {
    if (!key.endsWith('.qweight')) continue;
    const name = key.slice(0, -'.qweight'.length);
    const scales = tensors.get(`${name}.scales`);
    if (!scales) invalid('bad_quantized_file', `${name}.qweight has no ${name}.scales beside it.`);
    const q: QuantizedMatrix = {
      bits,
      blockSize: groupSize,
      n: Number(metadata[`${name}.N`]),
      k: Number(metadata[`${name}.K`]),
      qweight: t.data as Uint8Array,
      scales: scales.data as Float32Array,
      zeroPoints: tensors.get(`${name}.zero_points`)?.data as Uint8Array | undefined,
    };
    const nBlocks = blocksPerRow(q.k, groupSize);
    const sizesFit =
      Number.isInteger(q.n) &&
      Number.isInteger(q.k) &&
      q.n > 0 &&
      q.k > 0 &&
      t.dtype === 'U8' &&
      q.qweight.length === (q.n * nBlocks * groupSize * bits) / 8 &&
      scales.dtype === 'F32' &&
      q.scales.length === q.n * nBlocks &&
      (q.zeroPoints === undefined || q.zeroPoints.length === q.n * Math.ceil((nBlocks * bits) / 8));
    if (!sizesFit)
      invalid(
        'bad_quantized_file',
        `${name}: qweight, scales or zero_points do not match N = ${q.n}, K = ${q.k}, ${bits} bits, blocks of ${groupSize}.`,
      );
    out.set(name, q);
  }
  return out;
}

/**
 * The float32 tensors a file of quantized weights stands for: each `<name>.qweight` (with its scales and zero
 * points) becomes `<name>.weight` [N, K], dequantized; tensors that are not part of a quantized weight pass
 * through unchanged.
 */
export function dequantizedTensors(tensors: Map<string, Tensor>, metadata: Record<string, string>): Map<string, Tensor> {
  const matrices = readQuantizedFile(tensors, metadata);
  const out = new Map<string, Tensor>();
  const parts = new Set([...matrices.keys()].flatMap((name) => [`${name}.qweight`, `${name}.scales`, `${name}.zero_points`]));
  for (const [key, t] of tensors) if (!parts.has(key)) out.set(key, t);
  for (const [name, q] of matrices) out.set(`${name}.weight`, { dtype: 'F32', shape: [q.n, q.k], data: dequantizeMatrix(q) });
  return out;
}
