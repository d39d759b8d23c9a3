/**
 * A merge's modules grouped into families that one batched run can cover (the modules of one shape across
 * layers), grouped once per merge and kept with whatever the caller stacks for them (a merge's parts are never
 * written after it is built).
 */
import type { MergedModule, ReversibleMerge } from './reversible-types.ts';

/** A family: indices into merge.modules in model order, and what the caller keeps for it. */
export interface ModuleFamily {
  members: number[];
}

export function familiesOf<F extends ModuleFamily>(
  cache: WeakMap<ReversibleMerge, F[]>,
  merge: ReversibleMerge,
  key: (m: MergedModule) => string,
  create: (m: MergedModule) => F,
  add: (family: F, m: MergedModule) => void = () => {},
): F[] {
  let families = cache.get(merge);
  if (!families) {
    const byKey = new Map<string, F>();
    merge.modules.forEach((m, i) => {
      const k = key(m);
      const family = byKey.get(k) ?? create(m);
      byKey.set(k, family);
      family.members.push(i);
      add(family, m);
    });
    families = [...byKey.values()];
    cache.set(merge, families);
  }
  return families;
}
