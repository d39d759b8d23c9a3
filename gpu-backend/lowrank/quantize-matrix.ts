/**
 * Group-wise int4/int8 quantization of one weight W [N × K] (rows are output features, as PEFT and HF store
 * weights), stored exactly as onnxruntime's com.microsoft MatMulNBits reads its inputs, so that a quantized
 * base can be served later without conversion:
 *   B            uint8 [N, n_blocks, blob_size]: n_blocks = ceil(K / block_size), blob_size = block_size·bits/8;
 *                4-bit codes two to a byte, the lower K index in the low nibble. K is padded with zeros to
 *                n_blocks·block_size (the padding quantizes to the zero point, as onnxruntime's quantizer does).
 *   scales       float32 [N·n_blocks], block b of row n at n·n_blocks + b.
 *   zero_points  uint8 [N·ceil(n_blocks·bits/8)], packed like B (4-bit: two blocks a byte, low nibble first);
 *                absent when symmetric, where MatMulNBits takes 2^(bits−1) (8 for int4, 128 for int8).
 * Dequantization is W[n, k] = (code − zero_point)·scale.
 *
 * Scales and zero points follow onnxruntime's blockwise quantizer (mlas q4_dq.cpp, BlockwiseQuantizer):
 * asymmetric: range [min(x, 0), max(x, 0)] over 2^bits − 1 steps, zero point rounded and clamped; symmetric:
 * the value of largest magnitude maps to code 0 (−2^(bits−1) around the midpoint), codes rounded half away from
 * zero, float32 arithmetic throughout (each operation rounded to float32; quantize-runner.ts runs the same
 * arithmetic as an onnxruntime graph, byte for byte). One deviation, for a guaranteed bound: onnxruntime clamps a value of the
 * other sign beyond 7.5 steps (int4) to code 15, an error of up to a whole step; here the symmetric scale
 * widens just enough (by at most 8/7.5 for int4, 128/127.5 for int8) that every element is within scale/2.
 */
import { invalid } from '../../contracts/formats/errors.ts';

export type QuantBits = 4 | 8;
export type QuantGroupSize = 32 | 64 | 128;

export interface QuantizeOptions {
  bits: QuantBits;
  /** block_size of MatMulNBits: elements along K sharing one scale. */
  groupSize: QuantGroupSize;
  /** Symmetric: no zero points stored (implicit 2^(bits−1)). */
  symmetric: boolean;
}

/** One matrix in MatMulNBits layout (see the file header). */
export interface QuantizedMatrix {
  bits: QuantBits;
  blockSize: QuantGroupSize;
  /** Rows (output features) and the unpadded length of each row. */
  n: number;
  k: number;
  qweight: Uint8Array;
  scales: Float32Array;
  zeroPoints?: Uint8Array;
}

export function checkQuantizeOptions(opts: QuantizeOptions): QuantizeOptions {
  if (opts.bits !== 4 && opts.bits !== 8) invalid('bad_bits', `bits is ${opts.bits}; quantize to 4 or 8 bits.`, 'bits');
  if (opts.groupSize !== 32 && opts.groupSize !== 64 && opts.groupSize !== 128)
    invalid('bad_group_size', `group size is ${opts.groupSize}; use 32, 64 or 128 elements per scale.`, 'group_size');
  if (typeof opts.symmetric !== 'boolean') invalid('bad_symmetric', `symmetric is ${opts.symmetric}; give true or false.`, 'symmetric');
  return opts;
}

export const blocksPerRow = (k: number, blockSize: number) => Math.ceil(k / blockSize);
export const zeroPointBytesPerRow = (nBlocks: number, bits: number) => Math.ceil((nBlocks * bits) / 8);

/** roundf: half away from zero (Math.round rounds half up). */
const roundf = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));
const f32 = Math.fround;

/** Quantizes w (row-major n × k) group-wise along k. */
export function quantizeMatrix(w: ArrayLike<number>, n: number, k: number, opts: QuantizeOptions): QuantizedMatrix {
  const { bits, groupSize, symmetric } = checkQuantizeOptions(opts);
  if (w.length !== n * k) throw new Error(`quantizeMatrix: ${w.length} values for ${n}×${k}`);
  const nBlocks = blocksPerRow(k, groupSize);
  const blob = (groupSize * bits) / 8;
  const maxCode = (1 << bits) - 1;
  const mid = 1 << (bits - 1);
  const qweight = new Uint8Array(n * nBlocks * blob);
  const scales = new Float32Array(n * nBlocks);
  const zpRow = zeroPointBytesPerRow(nBlocks, bits);
  const zeroPoints = symmetric ? undefined : new Uint8Array(n * zpRow);
  const block = new Float32Array(groupSize);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < nBlocks; b++) {
      const start = b * groupSize;
      const len = Math.min(groupSize, k - start);
      block.fill(0);
      let min = 0; // the zero padding is part of the block, as in onnxruntime's padded quantizer
      let max = 0;
      for (let i = 0; i < len; i++) {
        const v = f32(w[row * k + start + i]);
        if (!Number.isFinite(v))
          invalid('weights_not_finite', `weight row ${row}, column ${start + i} is ${v}; only finite weights can be quantized.`, 'weights');
        block[i] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      let scale: number;
      let zp: number;
      if (symmetric) {
        const far = Math.abs(max) > Math.abs(min) ? max : min;
        const near = far === max ? min : max;
        const magnitude = Math.max(Math.abs(far) / mid, Math.abs(near) / (mid - 0.5));
        scale = f32(far > 0 ? -magnitude : magnitude);
        zp = mid;
      } else {
        // Each operation rounded to float32, as onnxruntime's quantizer and quantize-runner.ts's graph compute it.
        scale = f32(f32(max - min) / maxCode);
        const zpf = scale !== 0 ? f32(-min / scale) : min;
        zp = zpf < 0 ? 0 : zpf > maxCode ? maxCode : roundf(zpf);
        zeroPoints![row * zpRow + ((b * bits) >> 3)] |= zp << ((b * bits) & 7);
      }
      scales[row * nBlocks + b] = scale;
      // onnxruntime multiplies by the float32 reciprocal; for a denormal scale that overflows to Infinity
      // (0·∞ = NaN), so there the division is used instead.
      const reciprocal = scale !== 0 ? f32(1 / scale) : 0;
      const exact = !Number.isFinite(reciprocal);
      const base = (row * nBlocks + b) * blob;
      for (let i = 0; i < groupSize; i++) {
        const scaled = exact ? f32(block[i] / scale) : f32(block[i] * reciprocal);
        const code = Math.min(maxCode, Math.max(0, roundf(f32(scaled + zp))));
        qweight[base + ((i * bits) >> 3)] |= code << ((i * bits) & 7);
      }
    }
  }
  return { bits, blockSize: groupSize, n, k, qweight, scales, zeroPoints };
}

/** W [n × k] back in float32: (code − zero_point)·scale, the padding past k dropped. */
export function dequantizeMatrix(q: QuantizedMatrix): Float32Array {
  const { bits, blockSize, n, k } = q;
  const nBlocks = blocksPerRow(k, blockSize);
  const blob = (blockSize * bits) / 8;
  const mask = (1 << bits) - 1;
  const zpRow = zeroPointBytesPerRow(nBlocks, bits);
  const out = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < nBlocks; b++) {
      const scale = q.scales[row * nBlocks + b];
      const zp = q.zeroPoints ? (q.zeroPoints[row * zpRow + ((b * bits) >> 3)] >> ((b * bits) & 7)) & mask : 1 << (bits - 1);
      const base = (row * nBlocks + b) * blob;
      const len = Math.min(blockSize, k - b * blockSize);
      for (let i = 0; i < len; i++) {
        const code = (q.qweight[base + ((i * bits) >> 3)] >> ((i * bits) & 7)) & mask;
        out[row * k + b * blockSize + i] = (code - zp) * scale;
      }
    }
  }
  return out;
}

/** Bytes the quantized form takes: codes, float32 scales and packed zero points. */
export function quantizedBytes(q: QuantizedMatrix): number {
  return q.qweight.byteLength + q.scales.byteLength + (q.zeroPoints?.byteLength ?? 0);
}
