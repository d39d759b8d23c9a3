/**
 * The merge benchmark's collapsed-merge timings: each collapsed method that factors the members without dense
 * deltas (cat, linear, svd, task_arithmetic at a rank) on the same 8 random r=16 adapters as the reversible
 * timings, best of two (the first also warms the JIT and the runtime's sessions).
 */
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { type CollapsedSpec, mergeCollapsed } from '../gpu-backend/lowrank/merge-collapsed.ts';

const SPECS: Record<string, CollapsedSpec> = {
  cat: { method: 'cat' },
  linear: { method: 'linear' },
  svd: { method: 'svd' },
  task_arithmetic: { method: 'task_arithmetic', rank: 16 },
};

/** Seconds per method; a merge that is refused (cat of 8 r16 exceeds no limit here) would throw. */
export async function timeCollapsedMerges(members: Member[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, spec] of Object.entries(SPECS)) {
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      await mergeCollapsed(members, spec);
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    out[name] = best;
  }
  return out;
}
