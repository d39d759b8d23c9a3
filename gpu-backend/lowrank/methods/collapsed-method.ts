/**
 * A collapsed method from its declaration and the CollapsedSpec it means (merge-collapsed.ts does the algebra):
 * the parameters its declaration reads, mapped onto the spec, and nothing else.
 */
import { declarationOf, type GivenParams, type MergeMethod } from '../../../contracts/api/merge-methods.ts';
import { adapterFloats } from '../peft-adapter.ts';
import type { Member } from '../members.ts';
import { type CollapsedSpec, mergeCollapsed } from '../merge-collapsed.ts';
import type { CollapsedMethodImplementation } from './method.ts';

export function collapsedMethod(name: MergeMethod, spec: (params: GivenParams) => CollapsedSpec): CollapsedMethodImplementation {
  return {
    name,
    declaration: declarationOf(name),
    reversible: false,
    async build(members: Member[], params: GivenParams) {
      const { adapter, report } = await mergeCollapsed(members, spec(params));
      const storage = adapterFloats(adapter) / members.reduce((n, m) => n + adapterFloats(m.adapter), 0);
      return {
        layout: 'peft_adapter',
        adapter,
        report: { tasks: report.tasks, storage, rank: report.rank, summary: `${name}, rank ${report.rank}` },
      };
    },
  };
}

/** The parameters every collapsed method may read, as CollapsedSpec fields (absent ones left to its defaults). */
export function commonSpec(params: GivenParams): Pick<CollapsedSpec, 'weights' | 'rank' | 'density'> {
  return {
    ...(params.weights !== undefined ? { weights: params.weights as number[] } : {}),
    ...(params.basis_size !== undefined ? { rank: params.basis_size as number } : {}),
    ...(params.density !== undefined ? { density: params.density as number } : {}),
  };
}
