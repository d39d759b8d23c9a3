/**
 * The precision a reversible merge keeps its parts in: float32, or IEEE half for half the bytes. The parts are
 * rounded when the merge is built, so that what the build reports and reverts is exactly what its artifact holds.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import { REVERSIBLE_FLOAT_BITS, type ReversibleFloatBits } from '../../contracts/formats/job-artifacts.ts';
import { floatBitsToHalf, floatToHalf, halfToFloat, type Tensor } from '../../contracts/formats/safetensors.ts';
import { rewritten } from './float32-twin.ts';
import { type PartMat, storedFloats } from './reversible-types.ts';

/** The largest finite float16. */
const HALF_MAX = 65504;

export function checkFloatBits(bits: number): ReversibleFloatBits {
  if (!(REVERSIBLE_FLOAT_BITS as readonly number[]).includes(bits))
    invalid('bad_float_bits', `float_bits is ${bits}; use ${REVERSIBLE_FLOAT_BITS.join(' or ')}.`, 'float_bits');
  return bits as ReversibleFloatBits;
}

/** Rounds every part to float16 in place (bits 16), or refuses a value float16 cannot hold; bits 32 keeps them. */
export function roundParts(modules: { path: string; parts: Record<string, PartMat> }[], bits: ReversibleFloatBits): void {
  if (bits === 32) return;
  for (const m of modules) {
    for (const [name, part] of Object.entries(m.parts)) {
      const d = part.data;
      for (let i = 0; i < d.length; i++) {
        if (!(Math.abs(d[i]) <= HALF_MAX))
          invalid(
            'float_bits_overflow',
            `${m.path}.${name} holds ${d[i]}, beyond float16's ±${HALF_MAX}; merge with float_bits 32.`,
            'float_bits',
          );
        d[i] = halfToFloat(floatToHalf(d[i]));
      }
      if (d instanceof Float64Array) rewritten({ rows: part.rows, cols: part.cols, data: d });
    }
  }
}

/** Bytes stored over the bytes of keeping every member in float32 (what a merge's `storage` reports). */
export function storageFraction(merge: {
  modules: { parts: Record<string, PartMat> }[];
  fullFloats: number;
  floatBits?: ReversibleFloatBits;
}): number {
  return (storedFloats(merge.modules) * (merge.floatBits ?? 32)) / 32 / merge.fullFloats;
}

/** A part as a safetensors tensor of the merge's precision (F16 keeps raw half bit patterns). */
export function partTensor(mat: PartMat, bits: ReversibleFloatBits): Tensor {
  const shape = [mat.rows, mat.cols];
  // The typed-array constructor rounds as Float32Array.from does, at about a quarter of its time (a 1B merge's
  // parts took ~0.5 s to encode). Float32 parts are copied too: they are views of the merge's shared memory, which
  // a transfer list would refuse.
  const single = new Float32Array(mat.data);
  if (bits === 32) return { dtype: 'F32', shape, data: single };
  const singleBits = new Uint32Array(single.buffer);
  const half = new Uint16Array(single.length);
  for (let i = 0; i < half.length; i++) half[i] = floatBitsToHalf(singleBits[i]);
  return { dtype: 'F16', shape, data: half };
}
