/**
 * Random task adapters of the SmolLM2-135M shape for the merge timings: only shapes matter there, so no base
 * model is built, just its config and rank-r adapters on all seven projections of every layer.
 */
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { randomAdapter, SMOLLM2_135M } from './models.ts';

export const SMOLLM2_BASE = 'HuggingFaceTB/SmolLM2-135M';

/** `n` distinct random adapters of rank `r` (seeds from `seed`), as merge members named task0, task1, … */
export function randomMembers(n: number, r: number, seed = 1, layers?: number): Member[] {
  const cfg = parseModelConfig(layers ? { ...SMOLLM2_135M, num_hidden_layers: layers } : SMOLLM2_135M);
  return Array.from({ length: n }, (_, i) => ({ name: `task${i}`, baseModel: SMOLLM2_BASE, adapter: randomAdapter(cfg, r, seed + i) }));
}
