/**
 * The registry of merge implementations: for each method contracts/api/merge-methods.ts declares, the file of
 * this folder named after it, loaded by that name, so that adding a method is its declaration and its file.
 */
import { MERGE_METHODS, type MergeMethod } from '../../../contracts/api/merge-methods.ts';
import { invalid } from '../../../contracts/formats/errors.ts';
import type { MergeMethodImplementation, ReversibleMethodImplementation } from './method.ts';

const loaded = await Promise.all(
  MERGE_METHODS.map(async (name) => {
    const { implementation } = (await import(/* @vite-ignore */ `./${name}.ts`)) as { implementation: MergeMethodImplementation };
    if (implementation?.name !== name) throw new Error(`gpu-backend/lowrank/methods/${name}.ts must export the implementation of ${name}`);
    return [name, implementation] as const;
  }),
);

const IMPLEMENTATIONS: ReadonlyMap<string, MergeMethodImplementation> = new Map(loaded);

export function implementationOf(method: MergeMethod | string): MergeMethodImplementation {
  const found = IMPLEMENTATIONS.get(method);
  if (!found) invalid('bad_method', `method "${method}" is not a merge method; use one of ${MERGE_METHODS.join(', ')}.`, 'method');
  return found;
}

/** A reversible method's implementation, or a refusal naming what a collapsed merge can do instead. */
export function reversibleImplementationOf(method: MergeMethod | string, mergeName: string): ReversibleMethodImplementation {
  const found = implementationOf(method);
  if (!found.reversible)
    invalid('merge_not_reversible', `merge "${mergeName}" (${method}) collapsed its members; it has no basis or tasks.`, 'model');
  return found;
}

export type { BuiltMerge, MergeMethodImplementation, ReversibleMethodImplementation } from './method.ts';
