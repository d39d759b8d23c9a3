/**
 * The merge benchmark's timings on the SmolLM2-135M shape (30 layers, all seven projections): a reversible merge
 * of 8 random r=16 adapters with a given construction, one revert from it, and a joint compression of 32.
 * Random adapters share no directions, the hardest case for a shared basis and a typical one for the cost.
 */
import { jointCompress } from '../gpu-backend/lowrank/joint.ts';
import { buildReversibleMerge, revertTask, type Construction, type ReversibleMerge } from '../gpu-backend/lowrank/reversible.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { randomMembers } from './merge-random.ts';

export interface MergeTiming {
  construction: Construction;
  adapters: number;
  rank: number;
  basisSize: number;
  seconds: number;
}

async function seconds<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const out = await fn();
  return [out, (performance.now() - t) / 1000];
}

/** Best of `repeat` builds (the first also warms the JIT); a build over 5 s is not repeated (JIT warm-up is noise there). */
export async function timeReversibleMerge(
  members: Member[],
  construction: Construction,
  basisSize: number,
  repeat = 2,
): Promise<{ merge: ReversibleMerge; timing: MergeTiming }> {
  let best = Infinity;
  let merge: ReversibleMerge | null = null;
  for (let i = 0; i < repeat && best > 5; i++) {
    const [m, s] = await seconds(() => buildReversibleMerge(members, { construction, basisSize }));
    merge = m;
    best = Math.min(best, s);
  }
  return {
    merge: merge!,
    timing: { construction, adapters: members.length, rank: members[0].adapter.modules[0].rank, basisSize, seconds: best },
  };
}

/** Best of `repeat` reverts of one task (ms). */
export async function timeRevert(merge: ReversibleMerge, repeat = 5): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < repeat; i++)
    best = Math.min(best, (await seconds(() => revertTask(merge, merge.tasks[i % merge.tasks.length].name)))[1]);
  return best * 1000;
}

/** One joint compression of `n` random r=16 adapters to a shared basis of size k (s); built once, it is long. */
export async function timeJoint(n: number, k: number, layers?: number): Promise<number> {
  const members = randomMembers(n, 16, 100, layers);
  return (await seconds(() => jointCompress(members, { k })))[1];
}

export { randomMembers };
