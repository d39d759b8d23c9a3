/**
 * Quantization of adapters and base weights to int4/int8 (quantize-matrix.ts holds the kernel and the
 * MatMulNBits layout, quantize-file.ts the safetensors file), with the dequantized weights, servable today by
 * the float engine, and the quantized form, servable later through onnxruntime's MatMulNBits without conversion.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { DTYPE_BYTES, encodeSafetensors, type Tensor, toFloat32 } from '../../contracts/formats/safetensors.ts';
import { peftKey } from '../../contracts/formats/peft-config.ts';
import { fromArray, type Mat, matmulNT, matmulTN, zeros } from './linalg.ts';
import {
  checkQuantizeOptions,
  dequantizeMatrix,
  type QuantizedMatrix,
  type QuantizeOptions,
  quantizedBytes,
  quantizeMatrix,
} from './quantize-matrix.ts';
import { type QuantizedFile, quantizedFile } from './quantize-file.ts';

export { dequantizedTensors, type QuantizedFile, quantizedFile, readQuantizedFile } from './quantize-file.ts';
export { dequantizeMatrix, type QuantizedMatrix, type QuantizeOptions, quantizeMatrix } from './quantize-matrix.ts';

export interface QuantizedModuleReport {
  path: string;
  /** ‖X − X'‖_F / ‖X‖_F of lora_A, lora_B and of the module's ΔW = B·A. */
  relErrorA: number;
  relErrorB: number;
  relErrorDelta: number;
}

export interface QuantizedWeightReport {
  name: string;
  n: number;
  k: number;
  relError: number;
  maxAbsError: number;
}

interface Sizes {
  /** Bytes of the weights quantized, as they were (float32 for adapters) and as quantized. */
  bytesBefore: number;
  bytesAfter: number;
  storageRatio: number;
}

/**
 * Quantizes lora_A [r × in] and lora_B [out × r] of every module (groups along each one's input dimension;
 * lora_B's K is the rank, padded to one group). The adapter returned holds the dequantized factors under the
 * same config, so it loads and serves as any adapter does.
 */
export function quantizeAdapter(
  adapter: LoraAdapter,
  opts: QuantizeOptions,
): QuantizedFile & { adapter: LoraAdapter; report: Sizes & { modules: QuantizedModuleReport[] } } {
  checkQuantizeOptions(opts);
  const matrices = new Map<string, QuantizedMatrix>();
  const modules: QuantizedModuleReport[] = [];
  let bytesBefore = 0;
  let bytesAfter = 0;
  const quantized = adapter.modules.map((m) => {
    const qa = quantizeMatrix(m.a, m.rank, m.in, opts);
    const qb = quantizeMatrix(m.b, m.out, m.rank, opts);
    matrices.set(peftKey(m.path, 'lora_A'), qa);
    matrices.set(peftKey(m.path, 'lora_B'), qb);
    const a = dequantizeMatrix(qa);
    const b = dequantizeMatrix(qb);
    const fa = fromArray(m.rank, m.in, m.a);
    const fb = fromArray(m.out, m.rank, m.b);
    modules.push({
      path: m.path,
      relErrorA: relError(m.a, a),
      relErrorB: relError(m.b, b),
      relErrorDelta: relativeTo(productDistance(fb, fa, fromArray(m.out, m.rank, b), fromArray(m.rank, m.in, a)), productNorm(fb, fa)),
    });
    bytesBefore += (m.a.length + m.b.length) * 4;
    bytesAfter += quantizedBytes(qa) + quantizedBytes(qb);
    return { ...m, a, b };
  });
  return {
    adapter: { config: adapter.config, modules: quantized },
    ...quantizedFile(matrices, opts),
    report: { modules, bytesBefore, bytesAfter, storageRatio: bytesAfter / bytesBefore },
  };
}

/**
 * The folder of an adapter with int8/int4 factors: PEFT's adapter_config.json as it was, and an
 * adapter_model.safetensors holding the quantized factors (quantize-file.ts), which the backend's
 * readAdapterFolder dequantizes at load. PEFT itself cannot read that file; `adapterFiles(quantizeAdapter(..).adapter)`
 * gives the same adapter, dequantized, as plain PEFT.
 */
export function quantizedAdapterFiles(adapter: LoraAdapter, opts: QuantizeOptions): { config: string; weights: Uint8Array } {
  const { tensors, metadata } = quantizeAdapter(adapter, opts);
  return { config: JSON.stringify(adapter.config.raw, null, 2), weights: encodeSafetensors(tensors, { format: 'pt', ...metadata }) };
}

/** Names of the base weights quantized: the seven projections, the LM head and the embedding (2-D only). */
const QUANTIZED_WEIGHT = /(?:_proj|^lm_head|embed_tokens)\.weight$/;

/**
 * Quantizes every 2-D projection weight [out × in], the LM head and the token embedding [vocab × hidden]
 * (groups along hidden: the layout onnxruntime's GatherBlockQuantized reads as well, and the LM head of a
 * model with tied embeddings). Other weights (norms) stay as they are. Returns all weights, the quantized ones
 * dequantized to float32.
 */
export function quantizeBaseWeights(
  weights: Map<string, Tensor>,
  opts: QuantizeOptions,
): QuantizedFile & { weights: Map<string, Tensor>; report: Sizes & { weights: QuantizedWeightReport[] } } {
  checkQuantizeOptions(opts);
  const out = new Map<string, Tensor>();
  const matrices = new Map<string, QuantizedMatrix>();
  const reports: QuantizedWeightReport[] = [];
  let bytesBefore = 0;
  let bytesAfter = 0;
  for (const [name, t] of weights) {
    if (t.shape.length !== 2 || !QUANTIZED_WEIGHT.test(name)) {
      out.set(name, t);
      continue;
    }
    const [n, k] = t.shape;
    const w = toFloat32(t);
    const q = quantizeMatrix(w, n, k, opts);
    const d = dequantizeMatrix(q);
    matrices.set(name, q);
    out.set(name, { dtype: 'F32', shape: [n, k], data: d });
    let maxAbsError = 0;
    for (let i = 0; i < w.length; i++) maxAbsError = Math.max(maxAbsError, Math.abs(w[i] - d[i]));
    reports.push({ name, n, k, relError: relError(w, d), maxAbsError });
    bytesBefore += n * k * DTYPE_BYTES[t.dtype];
    bytesAfter += quantizedBytes(q);
  }
  return {
    weights: out,
    ...quantizedFile(matrices, opts),
    report: { weights: reports, bytesBefore, bytesAfter, storageRatio: bytesBefore > 0 ? bytesAfter / bytesBefore : 1 },
  };
}

function relError(x: Float32Array, y: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - y[i]) ** 2;
    den += x[i] * x[i];
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

/** ‖b·a‖_F from the factors: ‖b·a‖² = Σ (bᵀb) ∘ (a·aᵀ), both r × r. */
function productNorm(b: Mat, a: Mat): number {
  return Math.sqrt(Math.max(0, traceOfProduct(matmulTN(b, b), matmulNT(a, a))));
}

/** ‖b1·a1 − b2·a2‖_F from the factors, as ‖[b1, −b2]·[a1; a2]‖_F. */
function productDistance(b1: Mat, a1: Mat, b2: Mat, a2: Mat): number {
  const r1 = b1.cols;
  const r = r1 + b2.cols;
  const b = zeros(b1.rows, r);
  for (let i = 0; i < b1.rows; i++) {
    for (let j = 0; j < r1; j++) b.data[i * r + j] = b1.data[i * r1 + j];
    for (let j = 0; j < b2.cols; j++) b.data[i * r + r1 + j] = -b2.data[i * b2.cols + j];
  }
  const a = zeros(r, a1.cols);
  a.data.set(a1.data, 0);
  a.data.set(a2.data, a1.data.length);
  return productNorm(b, a);
}

/** trace(x·y) for symmetric x and y: the sum of their elementwise product. */
function traceOfProduct(x: Mat, y: Mat): number {
  let s = 0;
  for (let i = 0; i < x.data.length; i++) s += x.data[i] * y.data[i];
  return s;
}

/** distance / norm, and 0 where both are 0 (an untrained adapter's B is all zeros, as PEFT initialises it). */
function relativeTo(distance: number, norm: number): number {
  return norm > 0 ? distance / norm : distance;
}
