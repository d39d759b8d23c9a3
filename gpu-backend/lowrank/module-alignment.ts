/**
 * The one module alignment of lowrank/: the union of the members' modules in model order (layer, then
 * projection), each with every member's module at that path or null where the member does not target it.
 * Collapsed merges, reversible merges and joint compression all walk the members this way.
 */
import type { AdapterModule } from '../../contracts/formats/adapter.ts';
import { PROJECTIONS } from '../../contracts/formats/hf-config.ts';
import type { Member } from './members.ts';

export interface AlignedSite {
  path: string;
  /** Indexed by member. */
  modules: (AdapterModule | null)[];
  /** The first member's module there (shape and place; members of one base agree, checkMembers made sure). */
  first: AdapterModule;
}

export function alignModules(members: Member[]): AlignedSite[] {
  const byPath = new Map<string, AlignedSite>();
  members.forEach((member, i) => {
    for (const m of member.adapter.modules) {
      let site = byPath.get(m.path);
      if (!site) {
        site = { path: m.path, modules: members.map(() => null), first: m };
        byPath.set(m.path, site);
      }
      site.modules[i] = m;
    }
  });
  const order = (s: AlignedSite) => s.first.layer * PROJECTIONS.length + PROJECTIONS.indexOf(s.first.projection);
  return [...byPath.values()].sort((x, y) => order(x) - order(y));
}
