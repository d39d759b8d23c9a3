/**
 * The float32 copy of a float64 matrix that the runtime reads, kept beside it where the matrix will not change
 * (a merge's shared parts, a stacked factor used by several products, a product the runtime already gave in
 * float32), so that each product does not convert the same m×k operand again: at the Llama-3-8B shape those
 * conversions were most of a revert's time.
 */
import type { Mat } from './linalg.ts';

/** null: marked immutable, its copy not made yet. */
const twins = new WeakMap<Float64Array, Float32Array | null>();

/**
 * Marks `m` as never written again, so that its float32 copy is made once (or is `twin`, when the caller
 * already has it) and reused by every runtime product that reads it.
 */
export function keepFloat32<M extends Mat>(m: M, twin?: Float32Array): M {
  if (twin && twin.length !== m.data.length) throw new Error(`keepFloat32: ${twin.length} values for a ${m.rows}×${m.cols} matrix`);
  twins.set(m.data, twin ?? twins.get(m.data) ?? null);
  return m;
}

/** m's values in float32: the kept copy where `m` is marked, else a fresh conversion. */
export function float32Of(m: Mat): Float32Array {
  const kept = twins.get(m.data);
  if (kept) return kept;
  const fresh = Float32Array.from(m.data);
  if (kept === null) twins.set(m.data, fresh);
  return fresh;
}

/** Whether `m` is marked never written again (its float32 copy made, or to be made, once and kept). */
export function hasFloat32Twin(m: Mat): boolean {
  return twins.has(m.data);
}

/** Says `m` was written in place after all (a rounding of a merge's parts): its kept copy is made again when next read. */
export function rewritten(m: Mat): void {
  if (twins.has(m.data)) twins.set(m.data, null);
}
