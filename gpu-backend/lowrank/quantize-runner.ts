/**
 * quantize-matrix.ts's group-wise quantization as an onnxruntime graph, so a quantization job runs at the runtime's
 * speed (and on a GPU host's GPU) instead of a JS loop: the same float32 arithmetic op for op, so its codes, scales
 * and zero points are byte-identical to `quantizeMatrix` (tests/backend/quantize-runner.test.ts). One cached
 * session per (bits, group size, symmetric); a matrix runs in chunks of rows so no intermediate exceeds
 * CHUNK_VALUES floats (an LM head is 263 M values, and the graph keeps a few intermediates of its size).
 *
 * Three steps of quantizeMatrix have no exact ONNX op or would cost passes over the data for rare inputs:
 *  - roundf (half away from zero): ONNX Round rounds half to even; `roundfClamped` says how it is written;
 *  - a non-finite weight, and a denormal scale (where quantizeMatrix divides instead of multiplying by the
 *    reciprocal, which overflows): the graph flags the chunk, and the JS quantizer takes it (and names a
 *    non-finite weight in its error).
 */
import type { Tensor } from '../../contracts/formats/safetensors.ts';
import { toFloat32 } from '../../contracts/formats/safetensors.ts';
import { Graph, type Value } from '../engine/graph.ts';
import { createSession, f32, i64, type ort } from '../engine/runtime.ts';
import {
  blocksPerRow,
  checkQuantizeOptions,
  type QuantizedMatrix,
  type QuantizeOptions,
  quantizeMatrix,
  zeroPointBytesPerRow,
} from './quantize-matrix.ts';

/** Values of one run's input: 16 M floats, 64 MB per intermediate. */
const CHUNK_VALUES = 1 << 24;

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function sessionFor(opts: QuantizeOptions): Promise<ort.InferenceSession> {
  const key = `${opts.bits}:${opts.groupSize}:${opts.symmetric}`;
  let s = sessions.get(key);
  if (!s) {
    s = createSession(quantizerGraph(opts));
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

/** `quantizeMatrix` on the runtime. `w`: the checkpoint's tensor [n, k] as stored (F32, BF16 or F16). */
export async function quantizeOnRuntime(w: Tensor, n: number, k: number, opts: QuantizeOptions): Promise<QuantizedMatrix> {
  const { bits, groupSize, symmetric } = checkQuantizeOptions(opts);
  if (w.data.length !== n * k) throw new Error(`quantizeOnRuntime: ${w.data.length} values for ${n}×${k}`);
  const nBlocks = blocksPerRow(k, groupSize);
  const blob = (groupSize * bits) / 8;
  const zpRow = zeroPointBytesPerRow(nBlocks, bits);
  const qweight = new Uint8Array(n * nBlocks * blob);
  const scales = new Float32Array(n * nBlocks);
  const zeroPoints = symmetric ? undefined : new Uint8Array(n * zpRow);
  const session = await sessionFor(opts);
  const rowsPerRun = Math.max(1, Math.floor(CHUNK_VALUES / (nBlocks * groupSize)));
  for (let row = 0; row < n; row += rowsPerRun) {
    const rows = Math.min(rowsPerRun, n - row);
    const chunk = toFloat32({ dtype: w.dtype, shape: [rows, k], data: w.data.subarray(row * k, (row + rows) * k) } as Tensor);
    const feeds: Record<string, ort.Tensor> = { w: f32(padded(chunk, rows, k, nBlocks * groupSize), [rows * nBlocks, groupSize]) };
    if (!symmetric) {
      feeds.zp_shape = i64([rows, nBlocks], [2]);
      feeds.pad_blocks = i64([0, 0, 0, (zpRow * 8) / bits - nBlocks], [4]);
    }
    const out = await session.run(feeds);
    // A NaN or infinite weight, or a denormal scale (quantizeMatrix divides there): the JS quantizer takes the
    // chunk, and names a non-finite weight in its error (weights_not_finite).
    const rare = (out.not_finite.data as Float32Array)[0] !== 0 || (out.denormal_scale.data as Uint8Array)[0] !== 0;
    const q = rare
      ? quantizeMatrix(chunk, rows, k, opts)
      : {
          qweight: out.qweight.data as Uint8Array,
          scales: out.scales.data as Float32Array,
          zeroPoints: out.zero_points?.data as Uint8Array,
        };
    qweight.set(q.qweight, row * nBlocks * blob);
    scales.set(q.scales, row * nBlocks);
    if (zeroPoints) zeroPoints.set(q.zeroPoints!, row * zpRow);
  }
  return { bits, blockSize: groupSize, n, k, qweight, scales, zeroPoints };
}

/** Rows of k values padded with zeros to `to` (whole blocks; the padding is part of the last block, as in quantizeMatrix). */
function padded(w: Float32Array, rows: number, k: number, to: number): Float32Array {
  if (k === to) return w;
  const out = new Float32Array(rows * to);
  for (let r = 0; r < rows; r++) out.set(w.subarray(r * k, (r + 1) * k), r * to);
  return out;
}

/**
 * The graph, for one (bits, group size, symmetric): input `w`, the blocks [blocks, group] in float32; asymmetric
 * also `zp_shape` [rows, n_blocks] and `pad_blocks` (Pad's pads, n_blocks to whole bytes). Each step computes what
 * a line of quantizeMatrix does, in as few passes over the blocks as exactness allows (a pass is most of the cost).
 */
function quantizerGraph({ bits, groupSize, symmetric }: QuantizeOptions): Uint8Array {
  const g = new Graph(`quantize_int${bits}_g${groupSize}${symmetric ? '_sym' : ''}`);
  const F = 'float32' as const;
  const op = (type: string, inputs: Value[], attrs = {}, outType: 'float32' | 'bool' | 'uint8' = F) =>
    g.node(type, inputs, [{ type: outType, shape: [] }], attrs)[0];
  const k = (x: number) => g.scalar(x);
  const maxCode = (1 << bits) - 1;
  const mid = 1 << (bits - 1);

  const block = g.input('w', F, ['blocks', groupSize]);
  // x·0 is 0 for every finite x and NaN otherwise: the sum says whether the chunk holds a NaN or an infinity.
  g.output(op('ReduceSum', [op('Mul', [block, k(0)]), g.ints([0, 1])], { keepdims: 0 }), 'not_finite');
  const min = op('Min', [op('ReduceMin', [block], { axes: [1], keepdims: 1 }), k(0)]);
  const max = op('Max', [op('ReduceMax', [block], { axes: [1], keepdims: 1 }), k(0)]);
  let scale: Value;
  let zp: Value;
  if (symmetric) {
    const maxIsFar = op('Greater', [op('Abs', [max]), op('Abs', [min])], {}, 'bool');
    const far = op('Where', [maxIsFar, max, min]);
    const near = op('Where', [maxIsFar, min, max]);
    const magnitude = op('Max', [op('Div', [op('Abs', [far]), k(mid)]), op('Div', [op('Abs', [near]), k(mid - 0.5)])]);
    scale = op('Where', [op('Greater', [far, k(0)], {}, 'bool'), op('Neg', [magnitude]), magnitude]);
    zp = k(mid);
  } else {
    scale = op('Div', [op('Sub', [max, min]), k(maxCode)]);
    const zeroScale = op('Equal', [scale, k(0)], {}, 'bool');
    const zpf = op('Where', [zeroScale, min, op('Div', [op('Neg', [min]), scale])]);
    zp = roundfClamped(g, zpf, maxCode);
    const zpBytes = op('Reshape', [
      op('Pad', [op('Reshape', [zp, g.input('zp_shape', 'int64', [2])]), g.input('pad_blocks', 'int64', [4])]),
      g.ints([-1, 8 / bits]),
    ]);
    g.output(packCodes(g, zpBytes, bits, 'zero_point_bytes'), 'zero_points');
  }
  g.output(g.node('Reshape', [scale, g.ints([-1])], [{ type: F, shape: ['blocks'] }])[0], 'scales');
  // quantizeMatrix multiplies by the float32 reciprocal, except where it overflows (a denormal scale: flagged).
  const reciprocal = op('Where', [op('Equal', [scale, k(0)], {}, 'bool'), k(0), op('Div', [k(1), scale])]);
  g.output(
    op('ReduceMax', [op('Cast', [op('IsInf', [reciprocal], {}, 'bool')], { to: 2 }, 'uint8')], { keepdims: 0 }, 'uint8'),
    'denormal_scale',
  );
  const codes = roundfClamped(g, op('Add', [op('Mul', [block, reciprocal]), zp]), maxCode);
  g.output(packCodes(g, op('Reshape', [codes, g.ints([-1, 8 / bits])]), bits, 'code_bytes'), 'qweight');
  return g.toOnnx();
}

/**
 * roundf (half away from zero) clamped to [0, max], as floor(x − 0.5) + 1: equal to floor(x + 0.5) for every x,
 * but x − 0.5 is exact in float32 for x ≥ 0.25 (and below, the floor is −1 either way), where x + 0.5 rounds
 * 0.49999997 up to 1. ONNX's Round rounds half to even.
 */
function roundfClamped(g: Graph, x: Value, max: number): Value {
  const F = { type: 'float32' as const, shape: [] };
  const floor = g.node('Floor', [g.node('Sub', [x, g.scalar(0.5)], [F])[0]], [F])[0];
  return g.node('Clip', [g.node('Add', [floor, g.scalar(1)], [F])[0], g.scalar(0), g.scalar(max)], [F])[0];
}

/** Codes [m, 8/bits] (whole numbers as float32) to bytes [m], the lower index in the low bits: codes·[1, 16]ᵀ. */
function packCodes(g: Graph, codes: Value, bits: number, bytes: string): Value {
  const F = { type: 'float32' as const, shape: [] };
  const packed = bits === 8 ? codes : g.node('MatMul', [codes, g.constant([1, 16], [2, 1])], [F])[0];
  const flat = g.node('Reshape', [packed, g.ints([-1])], [F])[0];
  return g.node('Cast', [flat], [{ type: 'uint8', shape: [bytes] }], { to: 2 })[0];
}
