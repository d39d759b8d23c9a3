/**
 * What a merge is served as, in the engine's terms and nothing more: a plain PEFT adapter (LoraAdapter, from
 * contracts), or a plain shared basis given as tensors, ΔWᵢ = U·Σᵢ·Vᵀ per module with U and V shared by every
 * task (engine/shared-basis-rows.ts runs it). The engine and the server import these types from lowrank/ and
 * nothing else: how a merge's artifact is laid out stays with its method (methods/).
 */
import type { Projection } from '../../contracts/formats/hf-config.ts';

export interface SharedBasisModule {
  layer: number;
  projection: Projection;
  path: string;
  in: number;
  out: number;
  k: number;
  /** V [in, k]. */
  v: Float32Array;
  /** Uᵀ [k, out]. */
  uT: Float32Array;
  /** Task i's Σᵢᵀ [k, k] row-major at [i·k², (i+1)·k²); zeros where task i does not target the module. */
  coresT: Float32Array;
}

/** A decoded shared basis, ready to feed (build it once per basis and keep it: requests are matched by identity). */
export interface SharedBasis {
  baseModel: string;
  /** Task names, in the basis' order (a request names its task by index). */
  tasks: string[];
  modules: SharedBasisModule[];
}

/** What a request sets to run task `task` of `basis` (GenerationRequest.shared). */
export interface SharedTask {
  basis: SharedBasis;
  task: number;
}
