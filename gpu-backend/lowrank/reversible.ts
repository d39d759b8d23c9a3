/**
 * Reversible merges (after "Towards Reversible Model Merging for Low-rank Weights", arXiv 2510.14163): n task
 * adapters kept as a compact store from which each task is rebuilt by a linear combination of shared parts.
 * This file builds one of the constructions, reverts a task to an ordinary PEFT adapter, gives the merge's mean
 * model, reports per-task error and storage, and writes a merge to safetensors-ready tensors and back.
 * The constructions live in reversible-factor.ts ('factor', 'factor_svd'), reversible-delta.ts ('delta') and
 * reversible-shared.ts ('shared').
 */
import { REVERSIBLE_MERGE_FORMAT } from '../../contracts/formats/job-artifacts.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import type { Tensor } from '../../contracts/formats/safetensors.ts';
import { zeros, type Mat } from './linalg.ts';
import { compact } from './balanced-split.ts';
import { deltaDistance } from './delta-distance.ts';
import { tensorMat } from './joint.ts';
import { checkBasisSize, checkMembers, type Member } from './members.ts';
import { adapterFromFactors, type DeltaFactors } from './peft-adapter.ts';
import { buildDeltaModules, meanDelta, rebuildDelta } from './reversible-delta.ts';
import { factorTaskFactors } from './factor-revert.ts';
import { factorMeansFinite } from './factor-parts.ts';
import { buildFactorModules, rebuildFactor } from './reversible-factor.ts';
import { buildSharedModules, meanShared, rebuildShared } from './reversible-shared.ts';
import { type Factors32, sharedTaskFactors } from './shared-revert.ts';
import { checkFloatBits, partTensor, roundParts, storageFraction } from './stored-precision.ts';
import {
  alignMembers,
  CONSTRUCTIONS,
  fullFloats,
  memberTasks,
  slotOf,
  taskIndex,
  type Construction,
  type MergedModule,
  type MergedTask,
  type ModuleSlot,
  type ReversibleMerge,
} from './reversible-types.ts';

export { CONSTRUCTIONS, type Construction, type ReversibleMerge } from './reversible-types.ts';

export interface ReversibleOptions {
  construction: Construction;
  /** p, 1 ≤ p ≤ n: how many tasks' worth of basis to keep. */
  basisSize: number;
  /** 'delta' only: rank of each stored basis delta (default: the module's largest rank; at p = n, lossless). */
  basisRank?: number;
  /** 'shared' only: alternating refinement steps (default 2). */
  iters?: number;
  /**
   * 'shared' only: bits per stored value, 32 (default) or 16. At 16 every part is kept in float16, so p tasks'
   * worth of storage buys about twice the basis; p = n is then exact to float16 rounding only.
   */
  floatBits?: number;
}

export async function buildReversibleMerge(members: Member[], opts: ReversibleOptions): Promise<ReversibleMerge> {
  // 'factor' reads every member value into its means, which are finite only where the values are: the members are
  // scanned for NaN and ±Inf only where they are not (the scan up front was ~7% of the merge, before any thread worked).
  const scanLater = opts.construction === 'factor';
  checkMembers(members, 1, !scanLater);
  if (!CONSTRUCTIONS.includes(opts.construction)) {
    invalid(
      'bad_construction',
      `construction is ${JSON.stringify(opts.construction)}; use one of ${CONSTRUCTIONS.join(', ')}.`,
      'construction',
    );
  }
  const n = members.length;
  const p = checkBasisSize(opts.basisSize, n);
  if (opts.basisRank !== undefined && !(Number.isInteger(opts.basisRank) && opts.basisRank >= 1)) {
    invalid('bad_basis_rank', `basis rank is ${opts.basisRank}; it must be an integer of at least 1.`, 'basis_rank');
  }
  const floatBits = checkFloatBits(opts.floatBits ?? 32);
  if (floatBits !== 32 && opts.construction !== 'shared')
    invalid('bad_float_bits', `float_bits ${floatBits} is for the shared construction; ${opts.construction} stores float32.`, 'float_bits');
  const aligned = alignMembers(members);
  const full = fullFloats(members);
  const modules =
    opts.construction === 'factor'
      ? await buildFactorModules(aligned, p, false)
      : opts.construction === 'factor_svd'
        ? await buildFactorModules(aligned, p, true)
        : opts.construction === 'delta'
          ? await buildDeltaModules(aligned, p, opts.basisRank)
          : // The budget is in floats: at 16 bits, p tasks' worth of bytes holds 32/16 times as many.
            await buildSharedModules(aligned, p, (full * 32) / floatBits, opts.iters);
  if (scanLater && !factorMeansFinite(modules)) {
    checkMembers(members, 1);
    throw new Error('rmm_factor: a mean is not finite, yet every member value is');
  }
  roundParts(modules, floatBits);
  return {
    construction: opts.construction,
    baseModel: members[0].baseModel,
    basisSize: p,
    tasks: memberTasks(members),
    modules,
    fullFloats: full,
    floatBits,
  };
}

/** One task's factors, module by module (the modules its own adapter targets). */
export async function taskFactors(merge: ReversibleMerge, task: number): Promise<DeltaFactors[]> {
  const paths = new Set(merge.tasks[task].paths);
  const out: DeltaFactors[] = [];
  for (const m of merge.modules) if (paths.has(m.path)) out.push({ ...slotOf(m), ...(await rebuild(merge, m, task)) });
  return out;
}

/** Task `name` rebuilt from the merge, as an ordinary PEFT adapter (export it with adapterFiles). */
export async function revertTask(merge: ReversibleMerge, name: string): Promise<LoraAdapter> {
  const task = taskIndex(merge.tasks, name);
  if (merge.construction === 'delta') return adapterFromFactors(await taskFactors(merge, task), merge.baseModel);
  // Factor space and the shared basis write float32 directly: a revert writes millions of floats, and a float64
  // detour costs more than the arithmetic.
  const paths = new Set(merge.tasks[task].paths);
  const targeted = merge.modules.map((m, i) => ({ m, i })).filter(({ m }) => paths.has(m.path));
  const byIndex =
    merge.construction === 'shared'
      ? await sharedTaskFactors(merge, task, merge.basisSize === merge.tasks.length)
      : await factorTaskFactors(merge, task);
  const rebuilt = targeted.map(({ m, i }) => ({ m, f: byIndex.get(i)! }));
  return adapterOf32(rebuilt, merge.baseModel);
}

/** An adapter from float32 factors; adapterFromFactors only sees their shapes (empty data), for the config. */
function adapterOf32(rebuilt: { m: MergedModule; f: Factors32 }[], baseModel: string): LoraAdapter {
  const none = new Float64Array(0);
  const shapes = rebuilt.map(({ m, f }) => ({
    ...slotOf(m),
    b: { rows: m.out, cols: f.rank, data: none },
    a: { rows: f.rank, cols: m.in, data: none },
  }));
  const { config } = adapterFromFactors(shapes, baseModel);
  const modules = rebuilt.map(({ m, f }) => ({
    layer: m.layer,
    projection: m.projection,
    path: m.path,
    rank: f.rank,
    scale: 1,
    in: m.in,
    out: m.out,
    a: f.a,
    b: f.b,
  }));
  return { config, modules };
}

/** The merge's mean model (what `<base>:<merge>` serves): the mean of the n rebuilt task deltas. */
export async function meanAdapter(merge: ReversibleMerge): Promise<LoraAdapter> {
  const n = merge.tasks.length;
  const modules: DeltaFactors[] = [];
  for (const m of merge.modules) modules.push(await meanOf(merge, m, n));
  return adapterFromFactors(modules, merge.baseModel);
}

async function meanOf(merge: ReversibleMerge, m: MergedModule, n: number): Promise<DeltaFactors> {
  if (merge.construction === 'delta') return { ...slotOf(m), ...meanDelta(m) };
  if (merge.construction === 'shared') return { ...slotOf(m), ...(await meanShared(m)) };
  // Factor space: a mean of products is not a product of means, so stack the rebuilt tasks and compact.
  const parts = merge.tasks.map((t, i) => (t.paths.includes(m.path) ? rebuildFactor(m, i, n) : null)).filter((x) => x !== null);
  const r = parts.reduce((s, x) => s + x.a.rows, 0);
  const b = zeros(m.out, r);
  const a = zeros(r, m.in);
  let at = 0;
  for (const x of parts) {
    const k = x.a.rows;
    for (let row = 0; row < m.out; row++) for (let j = 0; j < k; j++) b.data[row * r + at + j] = x.b.data[row * k + j] / n;
    a.data.set(x.a.data, at * m.in);
    at += k;
  }
  return { ...slotOf(m), ...compact(b, a) };
}

function rebuild(merge: ReversibleMerge, m: MergedModule, task: number): { b: Mat; a: Mat } | Promise<{ b: Mat; a: Mat }> {
  switch (merge.construction) {
    case 'factor':
    case 'factor_svd':
      return rebuildFactor(m, task, merge.tasks.length);
    case 'delta': {
      const { b, a } = rebuildDelta(m, task);
      return compact(b, a);
    }
    case 'shared':
      return rebuildShared(m, task, merge.basisSize === merge.tasks.length);
  }
}

export interface ReversibleReport {
  construction: Construction;
  basisSize: number;
  /** Bytes stored (shared parts and coefficients) over the bytes of keeping all n adapters in float32. */
  storage: number;
  /** Per task: ‖ΔŴᵢ − ΔWᵢ‖/‖ΔWᵢ‖ over all its modules, from the factors. */
  tasks: { name: string; relativeError: number }[];
}

export async function reversibleReport(merge: ReversibleMerge, members: Member[]): Promise<ReversibleReport> {
  const byName = new Map(members.map((m) => [m.name, m]));
  const rebuilt: Map<string, DeltaFactors>[] = [];
  for (let i = 0; i < merge.tasks.length; i++) rebuilt.push(new Map((await taskFactors(merge, i)).map((f) => [f.path, f])));
  const tasks = merge.tasks.map((t, i) => {
    const member = byName.get(t.name);
    if (!member) invalid('unknown_task', `the merge holds "${t.name}" but no member of that name was given.`, 'adapters');
    let err = 0;
    let norm = 0;
    for (const mod of member.adapter.modules) {
      const orig = { b: scaledB(mod), a: { rows: mod.rank, cols: mod.in, data: Float64Array.from(mod.a) } };
      const rec = rebuilt[i].get(mod.path) ?? { b: zeros(mod.out, 1), a: zeros(1, mod.in) };
      const e = deltaDistance(orig, rec);
      err += e.err;
      norm += e.norm;
    }
    return { name: t.name, relativeError: norm > 0 ? Math.sqrt(err / norm) : 0 };
  });
  return { construction: merge.construction, basisSize: merge.basisSize, storage: storageFraction(merge), tasks };
}

function scaledB(mod: { out: number; rank: number; scale: number; b: Float32Array }): Mat {
  const data = new Float64Array(mod.b.length);
  for (let i = 0; i < data.length; i++) data[i] = mod.b[i] * mod.scale;
  return { rows: mod.out, cols: mod.rank, data };
}

// ---- serialisation -------------------------------------------------------------------------------------------

/** The format the edge checks a merge's basis.json by (contracts/formats/job-artifacts.ts). */
export const REVERSIBLE_FORMAT = REVERSIBLE_MERGE_FORMAT;

/**
 * A manifest (JSON: construction, base model, p, float bits, tasks with their module paths, modules with their part
 * names) and safetensors-ready tensors named `<module path>.<part>`, F32 (or F16 where float_bits is 16).
 */
export function encodeReversibleMerge(merge: ReversibleMerge): { manifest: Record<string, unknown>; tensors: Map<string, Tensor> } {
  const tensors = new Map<string, Tensor>();
  for (const m of merge.modules) {
    for (const [name, mat] of Object.entries(m.parts)) {
      tensors.set(`${m.path}.${name}`, partTensor(mat, merge.floatBits ?? 32));
    }
  }
  const manifest = {
    format: REVERSIBLE_FORMAT,
    version: 1,
    construction: merge.construction,
    base_model: merge.baseModel,
    basis_size: merge.basisSize,
    full_floats: merge.fullFloats,
    float_bits: merge.floatBits ?? 32,
    tasks: merge.tasks,
    modules: merge.modules.map((m) => ({ ...slotOf(m), parts: Object.keys(m.parts) })),
  };
  return { manifest, tensors };
}

export function decodeReversibleMerge(manifest: Record<string, unknown>, tensors: Map<string, Tensor>): ReversibleMerge {
  if (manifest.format !== REVERSIBLE_FORMAT)
    invalid('bad_artifact', `the manifest's format is ${JSON.stringify(manifest.format)}, not "${REVERSIBLE_FORMAT}".`, 'manifest');
  const construction = manifest.construction as Construction;
  if (!CONSTRUCTIONS.includes(construction))
    invalid(
      'bad_artifact',
      `the manifest's construction ${JSON.stringify(construction)} is not one of ${CONSTRUCTIONS.join(', ')}.`,
      'manifest',
    );
  const modules = (manifest.modules as (ModuleSlot & { parts: string[] })[]).map((s) => ({
    ...slotOf(s),
    parts: Object.fromEntries(s.parts.map((name) => [name, tensorMat(tensors, `${s.path}.${name}`)])),
  }));
  return {
    construction,
    baseModel: manifest.base_model as string,
    basisSize: manifest.basis_size as number,
    tasks: manifest.tasks as MergedTask[],
    modules,
    fullFloats: manifest.full_floats as number,
    floatBits: checkFloatBits((manifest.float_bits as number | undefined) ?? 32),
  };
}
