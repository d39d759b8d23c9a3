/**
 * A collapsed method that merges whole deltas by an element-wise rule (mergekit's task-vector family: DELLA,
 * breadcrumbs): its file gives the rule, and this builds the merge one module at a time and reports it.
 */
import { declarationOf, type GivenParams, type MergeMethod } from '../../../contracts/api/merge-methods.ts';
import type { Member } from '../members.ts';
import { type DeltaCombiner, mergeDeltas } from '../merge-collapsed.ts';
import { adapterFloats } from '../peft-adapter.ts';
import type { CollapsedMethodImplementation } from './method.ts';

export function denseDeltaMethod(name: MergeMethod, combiner: (params: GivenParams) => DeltaCombiner): CollapsedMethodImplementation {
  return {
    name,
    declaration: declarationOf(name),
    reversible: false,
    async build(members: Member[], params: GivenParams) {
      const { adapter, report } = await mergeDeltas(members, { weights: params.weights as number[] | undefined }, combiner(params));
      const storage = adapterFloats(adapter) / members.reduce((n, m) => n + adapterFloats(m.adapter), 0);
      return {
        layout: 'peft_adapter',
        adapter,
        report: { tasks: report.tasks, storage, rank: report.rank, summary: `${name}, rank ${report.rank}` },
      };
    },
  };
}
