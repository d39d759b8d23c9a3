/**
 * Where a collapsed merge meets PEFT's own vocabulary: the merged factors written as the adapter PEFT's
 * add_weighted_adapter would create (its config rules), and PEFT's combination_type names mapped to our specs.
 */
import type { AdapterModule, LoraAdapter } from '../../contracts/formats/adapter.ts';
import { PROJECTIONS } from '../../contracts/formats/hf-config.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import { type Mat, zeros } from './linalg.ts';
import type { Member } from './members.ts';
import type { CollapsedSpec } from './merge-collapsed.ts';

/** One module's merged factors, scale folded in: ΔW = b·a. */
export interface Merged {
  module: AdapterModule;
  b: Mat;
  a: Mat;
}

/**
 * The merged adapter with PEFT's config: the first member's config with r = lora_alpha = the new rank and the
 * union of targets. use_rslora is set false, as PEFT does since its fix for rslora sources (the scaling is
 * folded into the factors, so the new adapter's own scale must be 1, which rslora's α/√r would not give).
 * Ranks that differ from r (exact task arithmetic, factor-space merges of rank_pattern adapters) go to
 * rank_pattern/alpha_pattern by full module path.
 */
export function toAdapter(members: Member[], parts: Merged[], uniformRank: number | null): LoraAdapter {
  const merged = uniformRank === null ? parts : parts.map((m) => padRank(m, uniformRank));
  const counts = new Map<number, number>();
  for (const m of merged) counts.set(m.a.rows, (counts.get(m.a.rows) ?? 0) + 1);
  const r = uniformRank ?? [...counts.entries()].sort((x, y) => y[1] - x[1] || y[0] - x[0])[0][0];
  const rankPattern: Record<string, number> = {};
  for (const m of merged) if (m.a.rows !== r) rankPattern[m.module.path] = m.a.rows;
  const json: Record<string, unknown> = {
    ...members[0].adapter.config.raw,
    r,
    lora_alpha: r,
    use_rslora: false,
    target_modules: targetModules(members, merged),
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: rankPattern,
    alpha_pattern: { ...rankPattern },
  };
  const config = parseLoraConfig(json);
  const modules: AdapterModule[] = merged.map(({ module: m, b, a }) => ({
    layer: m.layer,
    projection: m.projection,
    path: m.path,
    rank: a.rows,
    scale: 1,
    in: m.in,
    out: m.out,
    a: Float32Array.from(a.data),
    b: Float32Array.from(b.data),
  }));
  return { config, modules };
}

/** Zero rank components up to `rank`, as PEFT's fixed-size new adapter holds them (cat where a member lacks the module). */
function padRank(m: Merged, rank: number): Merged {
  const r = m.a.rows;
  if (r === rank) return m;
  const b = zeros(m.b.rows, rank);
  for (let o = 0; o < m.b.rows; o++) b.data.set(m.b.data.subarray(o * r, (o + 1) * r), o * rank);
  const a = zeros(rank, m.a.cols);
  a.data.set(m.a.data);
  return { module: m.module, b, a };
}

/**
 * PEFT's union of target_modules, as projection names when that names exactly the merged modules (every member
 * targets whole projections on every layer); otherwise the full module paths, so the config loads to exactly
 * the modules written (PEFT itself would fail on a module no member has).
 */
function targetModules(members: Member[], merged: Merged[]): string[] {
  const projections = PROJECTIONS.filter((p) => merged.some((m) => m.module.projection === p));
  const layers = new Set(merged.map((m) => m.module.layer));
  const wholeLayers = members.every((m) => Array.isArray(m.adapter.config.targetModules) && !m.adapter.config.layersToTransform?.length);
  if (wholeLayers && merged.length === projections.length * layers.size) return projections;
  return merged.map((m) => m.module.path);
}
/** The arguments of PEFT's add_weighted_adapter, as a fixture's reference.json records them. */
export interface PeftMergeArgs {
  combination_type: string;
  weights?: number[];
  svd_rank?: number;
  svd_clamp?: number;
  density?: number;
}

/**
 * The spec that reproduces a PEFT combination_type, or null where PEFT's result cannot be reproduced: DARE draws
 * its masks from torch's generator, and magnitude_prune has no counterpart here.
 */
export function specFromPeft(args: PeftMergeArgs): CollapsedSpec | null {
  const common = { weights: args.weights, density: args.density };
  switch (args.combination_type) {
    case 'cat':
    case 'linear':
      return { method: args.combination_type, ...common };
    case 'svd':
      return { method: 'svd', ...common, rank: args.svd_rank, clamp: args.svd_clamp };
    case 'ties':
      return { method: 'ties', ...common, space: 'factors' };
    case 'ties_svd':
      return { method: 'ties', ...common, space: 'delta', rank: args.svd_rank, clamp: args.svd_clamp };
    default:
      return null;
  }
}
