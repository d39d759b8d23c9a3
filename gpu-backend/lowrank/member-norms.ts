/**
 * ‖ΔWᵢ‖² = ‖scaleᵢ·Bᵢ·Aᵢ‖² of each member at one module, from its factors: Σ (BᵢᵀBᵢ)∘(AᵢAᵢᵀ). At a large module the
 * members' r×r Grams are two batched runs over their stored float32 factors (zero-padded to the module's largest
 * rank, which adds zeros to the Grams); in float64 JS they were a tenth of an 8B-shape merge, on the main thread
 * before anything else could start. Small modules (the fixtures) keep float64's exact sums.
 */
import { squaredNorm } from './delta-distance.ts';
import { borrow32, giveBack } from './scratch-buffers.ts';
import { gemmStacked32, onRuntime } from './gemm-runner.ts';
import { type AlignedModule, memberCount, memberFactors, memberRank } from './reversible-types.ts';

export async function memberSquaredNorms(slot: AlignedModule): Promise<number[]> {
  const n = memberCount(slot);
  const present = Array.from({ length: n }, (_, i) => i).filter((i) => memberRank(slot, i) > 0);
  const r = Math.max(0, ...present.map((i) => memberRank(slot, i)));
  const norms = new Array<number>(n).fill(0);
  const stored = slot.stored;
  if (!stored || !onRuntime(present.length * (slot.out + slot.in), r, r)) {
    for (const i of present) norms[i] = squaredNorm(memberFactors(slot, i)!);
    return norms;
  }
  const batch = present.length;
  // Lent buffers: every value is written below (a lower rank's columns zeroed), and they are dropped after the runs.
  const bs = borrow32(batch * slot.out * r);
  const as = borrow32(batch * r * slot.in);
  present.forEach((i, at) => {
    const m = stored[i]!;
    if (m.rank === r) bs.set(m.b, at * slot.out * r);
    else {
      bs.fill(0, at * slot.out * r, (at + 1) * slot.out * r);
      for (let o = 0; o < slot.out; o++) bs.set(m.b.subarray(o * m.rank, (o + 1) * m.rank), (at * slot.out + o) * r);
    }
    as.set(m.a, at * r * slot.in);
    as.fill(0, (at * r + m.rank) * slot.in, (at + 1) * r * slot.in);
  });
  const g = await gemmStacked32(bs, bs, batch, r, slot.out, r, 'tn');
  const h = await gemmStacked32(as, as, batch, r, slot.in, r, 'nt');
  giveBack(bs, as);
  present.forEach((i, at) => {
    let s = 0;
    for (let e = at * r * r; e < (at + 1) * r * r; e++) s += g[e] * h[e];
    norms[i] = Math.max(s, 0) * stored[i]!.scale ** 2;
  });
  return norms;
}
