/**
 * A decoder's weights as ONNX external data. The graph builder asks for each weight by name and gets a
 * placeholder initializer with no values (`float`, `nbits`); `write` then fills one file with every placeholder's
 * bytes in graph order, one tensor at a time, and points each initializer at its place in that file. So no
 * protobuf holds weights (protobuf caps at 2 GB) and the process never holds more than one tensor of them.
 *
 * Where the bytes come from:
 *  - a float32 weight: the checkpoint's tensor, widened from bf16/fp16 per tensor when stored narrower;
 *  - a MatMulNBits weight (codes, scales, zero points): read as stored from a quantization artifact when one is
 *    given, otherwise quantized here from the checkpoint's tensor (one matrix at a time, on onnxruntime:
 *    lowrank/quantize-runner.ts).
 */
import { copyFile, link, open } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../../contracts/formats/errors.ts';
import { toFloat32 } from '../../contracts/formats/safetensors.ts';
import { type TensorPlace, type TensorSource, writeAt } from '../formats/checkpoint.ts';
import { writeSafetensorsFile } from '../formats/write-checkpoint.ts';
import type { QuantizedMatrix } from '../lowrank/quantize-matrix.ts';
import { quantizeOnRuntime } from '../lowrank/quantize-runner.ts';
import { halfBits } from './fp16.ts';
import type { ElemType, Graph, Initializer, Value } from './graph.ts';
import type { NBitsWeight } from './ops.ts';
import { nbitsShapes, type WeightQuantization } from './quantized-weights.ts';

type NBitsPart = 'qweight' | 'scales' | 'zero_points';

type Placeholder =
  | { kind: 'float32'; init: Initializer; source: string }
  | { kind: 'nbits'; init: Initializer; source: string; part: NBitsPart; n: number; k: number; q: Required<WeightQuantization> };

/** Where the weights' bytes come from: the checkpoint, and optionally the stored packed (quantized) weights. */
export interface WeightSources {
  checkpoint: TensorSource;
  /** Packed weights named `<name>.qweight`, `.scales`, `.zero_points` (a quantization artifact). */
  packed?: TensorSource;
}

/**
 * Offsets are aligned so that onnxruntime can map a tensor of the file rather than copy it (it maps only at
 * multiples of the page size); the padding costs at most 4 KiB per tensor.
 */
const ALIGN = 4096;

/** The file `write` fills with the weights that had to be converted. */
const WRITTEN_FILE = 'weights.bin';

export class ExternalWeights {
  private readonly placeholders: Placeholder[] = [];

  /** A float32 weight named as in the checkpoint. */
  float(g: Graph, name: string, shape: number[]): Value {
    const init = g.externalInitializer(name, shape, 'float32');
    this.placeholders.push({ kind: 'float32', init, source: name });
    return value(init);
  }

  /** The checkpoint's `source` [n, k] as MatMulNBits weights named `<as>.qweight`, `.scales`, `.zero_points`. */
  nbits(g: Graph, source: string, as: string, n: number, k: number, q: Required<WeightQuantization>): NBitsWeight {
    const shapes = nbitsShapes(n, k, q);
    const part = (p: NBitsPart, shape: number[], type: ElemType) => {
      const init = g.externalInitializer(`${as}.${p}`, shape, type);
      this.placeholders.push({ kind: 'nbits', init, source, part: p, n, k, q });
      return value(init);
    };
    return {
      kind: 'nbits',
      qweight: part('qweight', shapes.qweight, 'uint8'),
      scales: part('scales', shapes.scales, 'float32'),
      zeroPoints: shapes.zeroPoints ? part('zero_points', shapes.zeroPoints, 'uint8') : undefined,
      n,
      k,
      bits: q.bits,
      blockSize: q.groupSize,
      accuracyLevel: q.accuracyLevel,
    };
  }

  /**
   * Points every weight at its bytes in files inside `dir`, where the graph file will sit. A weight the graph takes
   * as stored (a stored packed part, a float32 weight of a float32 checkpoint) stays where it is: its source file is
   * linked into `dir` and the initializer points into it, so nothing is read or written here. The others are
   * written into one file, a tensor at a time: read (one copy as stored), widen or quantize (a second, float32 or
   * packed), write, drop.
   */
  async write(dir: string, from: WeightSources): Promise<void> {
    const bytesOf = producer(from);
    const linkedAs = new Map<string, string>();
    const fh = await open(join(dir, WRITTEN_FILE), 'w');
    try {
      let offset = 0;
      for (const p of this.placeholders) {
        const place = storedPlace(p, from);
        if (place) {
          let location = linkedAs.get(place.file);
          if (!location) {
            location = `source-${linkedAs.size}.bin`;
            await linkOrCopy(place.file, join(dir, location));
            linkedAs.set(place.file, location);
          }
          p.init.external = { location, offset: place.at, length: place.bytes };
          continue;
        }
        const bytes = narrowed(p, await bytesOf(p));
        await writeAt(fh, bytes, offset);
        p.init.external = { location: WRITTEN_FILE, offset, length: bytes.byteLength };
        offset += Math.ceil(bytes.byteLength / ALIGN) * ALIGN;
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Writes only the quantized weights' packed parts, as one safetensors file named as the graph names them:
   * what a quantization job stores, and what `write` later reads back as `packed` instead of quantizing.
   */
  async writePacked(path: string, checkpoint: TensorSource, metadata: Record<string, string>): Promise<void> {
    const parts = this.placeholders.filter((p) => p.kind === 'nbits');
    const bytesOf = producer({ checkpoint });
    const byName = new Map(parts.map((p) => [p.init.name, p]));
    const plans = parts.map((p) => ({
      name: p.init.name,
      dtype: p.init.type === 'uint8' ? ('U8' as const) : ('F32' as const),
      shape: p.init.dims,
    }));
    await writeSafetensorsFile(path, plans, async (t) => bytesOf(byName.get(t.name)!), metadata);
  }
}

/** Each placeholder's bytes, from the sources; a quantized matrix is quantized once for its three parts. */
function producer(from: WeightSources): (p: Placeholder) => Promise<Uint8Array> {
  let quantized = null as { source: string; m: QuantizedMatrix } | null;
  return async (p) => {
    if (p.kind === 'float32') return asBytes(toFloat32(await from.checkpoint.read(p.source)));
    if (from.packed) return packedPart(from.packed, p.init);
    // The parts of one matrix come one after another: quantize at its first part, reuse for the rest. On the
    // runtime, from the tensor as stored (widened a chunk of rows at a time).
    if (quantized?.source !== p.source) {
      const w = await from.checkpoint.read(p.source);
      quantized = {
        source: p.source,
        m: await quantizeOnRuntime(w, p.n, p.k, { bits: p.q.bits, groupSize: p.q.groupSize, symmetric: p.q.symmetric }),
      };
    }
    const m = quantized.m;
    return asBytes(p.part === 'qweight' ? m.qweight : p.part === 'scales' ? m.scales : m.zeroPoints!);
  };
}

/** Where a weight's bytes already sit in a file exactly as the graph takes them; undefined when they must be made. */
function storedPlace(p: Placeholder, from: WeightSources): TensorPlace | undefined {
  if (p.kind === 'nbits') {
    if (!from.packed) return undefined;
    checkPackedPart(from.packed, p.init);
    return sameType(p.init, from.packed.describe(p.init.name)?.dtype) ? from.packed.locate?.(p.init.name) : undefined;
  }
  return sameType(p.init, from.checkpoint.describe(p.source)?.dtype) ? from.checkpoint.locate?.(p.source) : undefined;
}

/** Whether the graph takes the stored bytes as they are (not after an fp16 rewrite of a float32 weight, fp16.ts). */
const STORED_AS: Partial<Record<ElemType, string>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16', uint8: 'U8' };
const sameType = (init: Initializer, dtype: string | undefined) => dtype !== undefined && STORED_AS[init.type] === dtype;

/**
 * A hard link costs nothing and keeps the bytes reachable under the scratch folder, where onnxruntime requires
 * external data to be; across file systems, a copy.
 */
async function linkOrCopy(file: string, to: string): Promise<void> {
  await link(file, to).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EXDEV' && err.code !== 'EPERM') throw err;
    return copyFile(file, to);
  });
}

/** A packed part as stored, checked against the shape the graph expects (a wrong or corrupt artifact fails here). */
async function packedPart(packed: TensorSource, init: Initializer): Promise<Uint8Array> {
  checkPackedPart(packed, init);
  return asBytes((await packed.read(init.name)).data as Uint8Array | Float32Array);
}

function checkPackedPart(packed: TensorSource, init: Initializer): void {
  const want = { dtype: init.type === 'uint8' ? 'U8' : 'F32', shape: init.dims };
  const got = packed.describe(init.name);
  if (!got) invalid('quantized_weights_incomplete', `the stored quantized weights have no "${init.name}"; run the quantization job again.`);
  if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join())
    invalid(
      'quantized_weights_mismatch',
      `the stored "${init.name}" is ${got.dtype} ${JSON.stringify(got.shape)} but this model needs ${want.dtype} ${JSON.stringify(want.shape)}; run the quantization job again.`,
    );
}

/** A weight the graph takes as float16 (fp16.ts) is read as float32, like every other, and narrowed last. */
function narrowed(p: Placeholder, bytes: Uint8Array): Uint8Array {
  const init = p.init;
  if (init.type !== 'float16') return bytes;
  return asBytes(halfBits(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)));
}

const value = (init: Initializer): Value => ({ name: init.name, type: init.type, shape: init.dims });

const asBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
