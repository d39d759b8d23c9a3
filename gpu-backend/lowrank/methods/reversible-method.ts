/** A reversible method from its declaration and the construction behind it (reversible.ts does the algebra). */
import { declarationOf, type GivenParams, type MergeMethod, reversibleBasisSize } from '../../../contracts/api/merge-methods.ts';
import type { Member } from '../members.ts';
import {
  buildReversibleMerge,
  type Construction,
  decodeReversibleMerge,
  meanAdapter,
  revertTask,
  reversibleReport,
} from '../reversible.ts';
import type { ReversibleMethodImplementation } from './method.ts';

export function reversibleMethod(
  name: MergeMethod,
  construction: Construction,
  serving: Pick<ReversibleMethodImplementation, 'sharedBasis'> = {},
): ReversibleMethodImplementation {
  return {
    name,
    declaration: declarationOf(name),
    reversible: true,
    async build(members: Member[], params: GivenParams) {
      const merge = await buildReversibleMerge(members, {
        construction,
        basisSize: reversibleBasisSize(params.basis_size as number | undefined, members.length),
        floatBits: params.float_bits as number | undefined,
      });
      const report = await reversibleReport(merge, members);
      return {
        layout: 'reversible_basis',
        merge,
        report: {
          tasks: report.tasks,
          storage: report.storage,
          rank: null,
          summary: `${name}, p = ${merge.basisSize}${merge.floatBits === 16 ? ', float16' : ''}, storage ${report.storage.toFixed(3)}`,
        },
      };
    },
    decode: decodeReversibleMerge,
    revert: revertTask,
    mean: meanAdapter,
    ...serving,
  };
}
