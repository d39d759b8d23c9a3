/**
 * Random task adapters of the SmolLM2-135M shape for the merge timings: only shapes matter there, so no base
 * model is built, just its config and rank-r adapters on all seven projections of every layer.
 */
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import type { Member } from '../gpu-backend/lowrank/members.ts';
import { LLAMA3_8B, randomAdapter, SMOLLM2_135M } from './models.ts';

export const SMOLLM2_BASE = 'HuggingFaceTB/SmolLM2-135M';

/** `n` distinct random adapters of rank `r` (seeds from `seed`), as merge members named task0, task1, … */
export function randomMembers(
  n: number,
  r: number,
  seed = 1,
  layers?: number,
  shape: 'smollm2-135m' | 'llama3-8b' = 'smollm2-135m',
): Member[] {
  const raw = shape === 'llama3-8b' ? LLAMA3_8B : SMOLLM2_135M;
  const cfg = parseModelConfig(layers ? { ...raw, num_hidden_layers: layers } : raw);
  return Array.from({ length: n }, (_, i) => ({ name: `task${i}`, baseModel: SMOLLM2_BASE, adapter: randomAdapter(cfg, r, seed + i) }));
}
