/**
 * quantize-matrix.ts's group-wise quantization as an onnxruntime graph, so a quantization job runs at the runtime's
 * speed (and on a GPU host's GPU) instead of a JS loop: the same float32 arithmetic op for op, so its codes, scales
 * and zero points are byte-identical to `quantizeMatrix` (tests/backend/quantize-runner.test.ts). One cached
 * session per (bits, group size, symmetric); a matrix runs in chunks of rows so no intermediate exceeds
 * CHUNK_VALUES floats (an LM head is 263 M values, and the graph keeps a few intermediates of its size).
 *
 * Two steps of quantizeMatrix have no exact ONNX op and are written out:
 *  - roundf (half away from zero): ONNX Round rounds half to even. The values rounded are ≥ 0 once clamped, so
 *    round(a) = floor(a) + (a − floor(a) ≥ 0.5), where the subtraction is exact (Sterbenz; a < 1 gives floor 0);
 *  - a non-finite weight: the graph flags the chunk, and quantizeMatrix then names the element in its error.
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
    const feeds: Record<string, ort.Tensor> = {
      w: f32(chunk, [rows, k]),
      pad_k: i64([0, 0, 0, nBlocks * groupSize - k], [4]),
    };
    if (!symmetric) {
      feeds.zp_shape = i64([rows, nBlocks], [2]);
      feeds.pad_blocks = i64([0, 0, 0, (zpRow * 8) / bits - nBlocks], [4]);
    }
    const out = await session.run(feeds);
    // A NaN or infinity: quantizeMatrix finds it and says where (invalid weights_not_finite).
    if ((out.not_finite.data as Uint8Array)[0]) quantizeMatrix(chunk, rows, k, opts);
    qweight.set(out.qweight.data as Uint8Array, row * nBlocks * blob);
    scales.set(out.scales.data as Float32Array, row * nBlocks);
    if (zeroPoints) zeroPoints.set(out.zero_points.data as Uint8Array, row * zpRow);
  }
  return { bits, blockSize: groupSize, n, k, qweight, scales, zeroPoints };
}

/**
 * The graph, for one (bits, group size, symmetric); inputs `w` [rows, k] float32 and `pad_k` (Pad's pads padding k
 * to whole blocks); asymmetric also `zp_shape` [rows, n_blocks] and `pad_blocks` (padding n_blocks to whole bytes).
 * Each line mirrors a line of quantizeMatrix.
 */
function quantizerGraph({ bits, groupSize, symmetric }: QuantizeOptions): Uint8Array {
  const g = new Graph(`quantize_int${bits}_g${groupSize}${symmetric ? '_sym' : ''}`);
  const F = 'float32' as const;
  const op = (type: string, inputs: Value[], attrs = {}, outType: 'float32' | 'bool' | 'uint8' = F) =>
    g.node(type, inputs, [{ type: outType, shape: [] }], attrs)[0];
  const k = (x: number) => g.scalar(x);
  const maxCode = (1 << bits) - 1;
  const mid = 1 << (bits - 1);

  const w = g.input('w', F, ['rows', 'k']);
  const padK = g.input('pad_k', 'int64', [4]);
  // Blocks [rows·n_blocks, group], the padding zeros part of the last block, as in quantizeMatrix.
  const block = op('Reshape', [op('Pad', [w, padK]), g.ints([-1, groupSize])]);
  const notFinite = op('Or', [op('IsNaN', [w], {}, 'bool'), op('IsInf', [w], {}, 'bool')], {}, 'bool');
  g.output(op('ReduceMax', [op('Cast', [notFinite], { to: 2 }, 'uint8')], { keepdims: 0 }, 'uint8'), 'not_finite');

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
    zp = roundHalfUp(g, op('Clip', [zpf, k(0), k(maxCode)]));
    const zpBytes = op('Reshape', [
      op('Pad', [op('Reshape', [zp, g.input('zp_shape', 'int64', [2])]), g.input('pad_blocks', 'int64', [4])]),
      g.ints([-1, 8 / bits]),
    ]);
    g.output(packCodes(g, zpBytes, bits, 'zero_point_bytes'), 'zero_points');
  }
  g.output(g.node('Reshape', [scale, g.ints([-1])], [{ type: F, shape: ['blocks'] }])[0], 'scales');
  // quantizeMatrix multiplies by the float32 reciprocal, or divides where that overflows (a denormal scale).
  const reciprocal = op('Where', [op('Equal', [scale, k(0)], {}, 'bool'), k(0), op('Div', [k(1), scale])]);
  const scaled = op('Where', [op('IsInf', [reciprocal], {}, 'bool'), op('Div', [block, scale]), op('Mul', [block, reciprocal])]);
  // Below 0, roundf gives 0 or less and the clamp 0: rounding max(x, 0) half up gives the same codes.
  const codes = op('Min', [roundHalfUp(g, op('Max', [op('Add', [scaled, zp]), k(0)])), k(maxCode)]);
  g.output(packCodes(g, op('Reshape', [codes, g.ints([-1, 8 / bits])]), bits, 'code_bytes'), 'qweight');
  return g.toOnnx();
}

/** roundf for x ≥ 0: floor(x) + (x − floor(x) ≥ 0.5); the subtraction is exact. */
function roundHalfUp(g: Graph, x: Value): Value {
  const floor = g.node('Floor', [x], [{ type: 'float32', shape: [] }])[0];
  const frac = g.node('Sub', [x, floor], [{ type: 'float32', shape: [] }])[0];
  const up = g.node('GreaterOrEqual', [frac, g.scalar(0.5)], [{ type: 'bool', shape: [] }])[0];
  return g.node('Add', [floor, g.node('Cast', [up], [{ type: 'float32', shape: [] }], { to: 1 })[0]], [{ type: 'float32', shape: [] }])[0];
}

/** Codes [m, 8/bits] (whole numbers as float32) to bytes [m], the lower index in the low bits. */
function packCodes(g: Graph, codes: Value, bits: number, bytes: string): Value {
  const F = { type: 'float32' as const, shape: [] };
  const packed =
    bits === 8
      ? codes
      : g.node(
          'Add',
          [
            g.node('Slice', [codes, g.ints([0]), g.ints([1]), g.ints([1])], [F])[0],
            g.node('Mul', [g.node('Slice', [codes, g.ints([1]), g.ints([2]), g.ints([1])], [F])[0], g.scalar(16)], [F])[0],
          ],
          [F],
        )[0];
  const flat = g.node('Reshape', [packed, g.ints([-1])], [F])[0];
  return g.node('Cast', [flat], [{ type: 'uint8', shape: [bytes] }], { to: 2 })[0];
}
