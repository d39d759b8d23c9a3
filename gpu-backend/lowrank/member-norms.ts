/**
 * ‖ΔWᵢ‖² = ‖scaleᵢ·Bᵢ·Aᵢ‖² of each member at each module, from its factors: Σ (BᵢᵀBᵢ)∘(AᵢAᵢᵀ). At a large module the
 * members' r×r Grams run on the runtime over their stored float32 factors (zero-padded to the module's largest
 * rank, which adds zeros to the Grams), two batched runs for all the modules of one shape (a module family) rather
 * than two per module: per module they were 420 of a 135M merge's ~3,000 runs, on the main thread before anything
 * else could start; in float64 JS they were a tenth of an 8B-shape merge. Small modules (the fixtures) keep
 * float64's exact sums.
 */
import { squaredNorm } from './delta-distance.ts';
import { borrow32, giveBack } from './scratch-buffers.ts';
import { gemmStacked32, onRuntime } from './gemm-runner.ts';
import { type AlignedModule, memberCount, memberFactors, memberRank } from './reversible-types.ts';

/** Values of one batched run's stacked operand (16 MB of float32): a family's stacks go in runs of at most this. */
const STACK_VALUES = 1 << 22;

/** One member's module in a family's batched runs. */
interface Item {
  slot: number;
  member: number;
}

/** Each slot's members' squared norms (0 where a member lacks the module). */
export async function memberSquaredNorms(slots: AlignedModule[]): Promise<number[][]> {
  const norms = slots.map((slot) => new Array<number>(memberCount(slot)).fill(0));
  const families = new Map<string, Item[]>();
  slots.forEach((slot, s) => {
    const present = Array.from({ length: memberCount(slot) }, (_, i) => i).filter((i) => memberRank(slot, i) > 0);
    const r = Math.max(0, ...present.map((i) => memberRank(slot, i)));
    // The same choice as per module: the runtime where one module's batch would be large enough.
    if (!slot.stored || !onRuntime(present.length * (slot.out + slot.in), r, r)) {
      for (const i of present) norms[s][i] = squaredNorm(memberFactors(slot, i)!);
      return;
    }
    const key = `${slot.out}×${slot.in}×${r}`;
    const items = families.get(key) ?? [];
    for (const member of present) items.push({ slot: s, member });
    families.set(key, items);
  });
  for (const [key, items] of families) {
    const [out, inp, r] = key.split('×').map(Number);
    const per = Math.max(1, Math.floor(STACK_VALUES / (Math.max(out, inp) * r)));
    for (let from = 0; from < items.length; from += per) {
      const run = items.slice(from, from + per);
      const sums = await gramProducts(slots, run, out, inp, r);
      run.forEach(({ slot, member }, at) => (norms[slot][member] = sums[at] * slots[slot].stored![member]!.scale ** 2));
    }
  }
  return norms;
}

/** Σ (BᵀB)∘(AAᵀ) of each item, from two batched runs over its stored float32 factors. */
async function gramProducts(slots: AlignedModule[], items: Item[], out: number, inp: number, r: number): Promise<number[]> {
  const batch = items.length;
  // Lent buffers: every value is written below (a lower rank's columns zeroed), and they are dropped after the runs.
  const bs = borrow32(batch * out * r);
  const as = borrow32(batch * r * inp);
  items.forEach(({ slot, member }, at) => {
    const m = slots[slot].stored![member]!;
    if (m.rank === r) bs.set(m.b, at * out * r);
    else {
      bs.fill(0, at * out * r, (at + 1) * out * r);
      for (let o = 0; o < out; o++) bs.set(m.b.subarray(o * m.rank, (o + 1) * m.rank), (at * out + o) * r);
    }
    as.set(m.a, at * r * inp);
    as.fill(0, (at * r + m.rank) * inp, (at + 1) * r * inp);
  });
  const g = await gemmStacked32(bs, bs, batch, r, out, r, 'tn');
  const h = await gemmStacked32(as, as, batch, r, inp, r, 'nt');
  giveBack(bs, as);
  return items.map((_, at) => {
    let s = 0;
    for (let e = at * r * r; e < (at + 1) * r * r; e++) s += g[e] * h[e];
    return Math.max(s, 0);
  });
}
