/**
 * The parts of a factor-space merge (reversible-factor.ts) as a merge keeps them: in float32, as its artifact stores
 * them (the fit computes in float64 and rounds each part once, where it is written), laid out per merge in shared
 * memory that the float64 threads write; and whether their means are finite (which tells whether every member value
 * was).
 */
import type { F32Mat } from './gemm-runner.ts';
import type { AlignedModule, MergedModule } from './reversible-types.ts';

/** A factor-space module's parts (see the header). */
export type FactorParts = Record<'muB' | 'basisB' | 'coefB' | 'muA' | 'basisA' | 'coefA', F32Mat>;

/** Bytes of shared memory the parts of one merge take at most per buffer (a Llama-3-8B-shape merge has ~2.3 GB). */
const PARTS_BUFFER_MAX = 2 ** 30;

/**
 * The parts of each slot with the members as stored, laid out (zeroed) in a few shared buffers, which the threads
 * write and the merge keeps: the parts of a merge are most of the bytes it makes (140 MB at the 135M shape; in
 * float64 they were 279 MB, and the first writes into those fresh pages were 15–20% of the threads' time), and
 * a fresh buffer per part, sent back from a thread, added them to V8's external memory in ~1 MB steps, each
 * ~64 MB of which set off a full collection on this thread.
 */
export function sharedParts(slots: AlignedModule[], p: number): Map<AlignedModule, FactorParts> {
  const shapes = slots.flatMap((slot) => {
    if (!slot.stored) return [];
    const n = slot.stored.length;
    const r = Math.max(...slot.stored.map((m) => (m ? m.rank : 0)));
    const sides = [slot.out, slot.in].map((positions) => [
      [positions, r],
      [positions, r * p],
      [positions, p * n],
    ]);
    return [{ slot, mats: sides.flat(), bytes: 4 * (slot.out + slot.in) * (r + r * p + p * n) }];
  });
  const out = new Map<AlignedModule, FactorParts>();
  let buffer: SharedArrayBuffer | null = null;
  let at = 0;
  shapes.forEach(({ slot, mats, bytes }, i) => {
    if (!buffer || at + bytes > buffer.byteLength) {
      // A new buffer for this slot and those after it that fit.
      let size = 0;
      for (let j = i; j < shapes.length && (size === 0 || size + shapes[j].bytes <= PARTS_BUFFER_MAX); j++) size += shapes[j].bytes;
      buffer = new SharedArrayBuffer(size);
      at = 0;
    }
    const [muB, basisB, coefB, muA, basisA, coefA] = mats.map(([rows, cols]) => {
      const data = new Float32Array(buffer!, at, rows * cols);
      at += 4 * rows * cols;
      return { rows, cols, data };
    });
    out.set(slot, { muB, basisB, coefB, muA, basisA, coefA });
  });
  return out;
}

/** Modules whose fit saw only finite values (so their means are finite), as factorModule or a thread reported. */
const finiteMeans = new WeakSet<MergedModule>();

/** Records that `module`'s fit saw only finite member values. */
export function markFiniteMeans(module: MergedModule): void {
  finiteMeans.add(module);
}

/**
 * Whether every position's mean μ (muB, muA) is finite. μ averages the n members' values at its position, and every
 * member value lies at one position, so μ is finite exactly where they all are (n float32 values times a finite
 * scale cannot overflow a float64 sum; their mean, rounded to float32, is at most a member value times the scale). The fit tells as it goes (the traces of X − μ); a module it did not tell of
 * is scanned.
 */
export function factorMeansFinite(modules: MergedModule[]): boolean {
  for (const m of modules) {
    if (finiteMeans.has(m)) continue;
    for (const mu of [m.parts.muB.data, m.parts.muA.data]) {
      // v·0 is ±0 for a finite v and NaN otherwise; one test per module side, over four independent sums.
      let z0 = 0;
      let z1 = 0;
      let z2 = 0;
      let z3 = 0;
      let i = 0;
      for (; i + 4 <= mu.length; i += 4) {
        z0 += mu[i] * 0;
        z1 += mu[i + 1] * 0;
        z2 += mu[i + 2] * 0;
        z3 += mu[i + 3] * 0;
      }
      for (; i < mu.length; i++) z0 += mu[i] * 0;
      if (z0 + z1 + z2 + z3 !== 0) return false;
    }
  }
  return true;
}
