/**
 * The one interface every merge method implements (one file per method in this folder, named as the method is
 * declared in contracts/api/merge-methods.ts). A method builds its merge from the members and the parameters
 * its declaration reads (already checked against it), reports per-task error and storage, and gives its serving
 * form: a collapsed merge is a plain PEFT adapter; a reversible one reverts each task to a plain adapter, gives
 * its mean model, and (where it serves tasks through a shared basis) that basis as plain tensors.
 */
import type { GivenParams, MergeMethod, MergeMethodDeclaration } from '../../../contracts/api/merge-methods.ts';
import type { LoraAdapter } from '../../../contracts/formats/adapter.ts';
import type { Tensor } from '../../../contracts/formats/safetensors.ts';
import type { Member } from '../members.ts';
import type { ReversibleMerge } from '../reversible.ts';
import type { SharedBasis } from '../serving-form.ts';

export interface TaskError {
  name: string;
  /** ‖ΔW′ − ΔWᵢ‖ / ‖ΔWᵢ‖ over all modules of the task. */
  relativeError: number;
}

export interface MergeReport {
  tasks: TaskError[];
  /** Floats stored over the floats of keeping every member's factors. */
  storage: number;
  /** Collapsed merges: the result's rank; null for reversible ones. */
  rank: number | null;
  /** One line for the job's log. */
  summary: string;
}

export type BuiltMerge =
  | { layout: 'peft_adapter'; adapter: LoraAdapter; report: MergeReport }
  | { layout: 'reversible_basis'; merge: ReversibleMerge; report: MergeReport };

interface MethodBase {
  name: MergeMethod;
  declaration: MergeMethodDeclaration;
  /** Async: its large products run on onnxruntime (gemm-runner.ts). */
  build(members: Member[], params: GivenParams): Promise<BuiltMerge>;
}

export interface CollapsedMethodImplementation extends MethodBase {
  reversible: false;
}

export interface ReversibleMethodImplementation extends MethodBase {
  reversible: true;
  /** The merge from its stored manifest and tensors. */
  decode(manifest: Record<string, unknown>, tensors: Map<string, Tensor>): ReversibleMerge;
  /** Task `name` as an ordinary adapter (a revert job's result; how `rebuilt_task` methods serve a task). */
  revert(merge: ReversibleMerge, name: string): Promise<LoraAdapter>;
  /** The mean of the rebuilt tasks: what `<base>:<merge>` serves. */
  mean(merge: ReversibleMerge): Promise<LoraAdapter>;
  /** Methods that serve tasks as `shared_basis`: the basis, as plain tensors. */
  sharedBasis?(merge: ReversibleMerge): Promise<SharedBasis>;
}

export type MergeMethodImplementation = CollapsedMethodImplementation | ReversibleMethodImplementation;
