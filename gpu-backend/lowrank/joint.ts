import { invalid } from '../../contracts/formats/errors.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { toFloat32, type Tensor } from '../../contracts/formats/safetensors.ts';
import { matmul, transpose, type Mat } from './linalg.ts';
import { deltaDistance } from './delta-distance.ts';
import { keepFloat32 } from './float32-twin.ts';
import { checkMembers, type Member } from './members.ts';
import { adapterFromFactors } from './peft-adapter.ts';
import { coreSpace, expand, fitBudgeted, fitCore, taskWeights } from './core-space.ts';
import { addSquaredNorms, type BlockGrams, blockGrams, fitSketchedFamily, OVERSAMPLE, siteFamilies } from './joint-sketch.ts';
import { type AlignedSite, alignModules } from './module-alignment.ts';
import {
  alignedOf,
  alignMembers,
  fullFloats,
  memberTasks,
  slotOf,
  storedFloats,
  taskIndex,
  type MergedTask,
  type ModuleSlot,
} from './reversible-types.ts';

export interface JointOptions {
  /** Shared basis size per module (clipped to the rank the module's deltas can have). Give k or storage. */
  k?: number;
  /** Instead of one k: a storage fraction (of keeping every adapter) spent per module by spectrum. */
  storage?: number;
  /** Alternating refinement steps after the closed-form start (default 2; on the default adapters the error settles after 1–2). */
  iters?: number;
}

export interface JointModule extends ModuleSlot {
  /** out × k, orthonormal columns. */
  u: Mat;
  /** in × k, orthonormal columns (k may differ between modules when fitted to a storage budget). */
  v: Mat;
  /** n × k²: row i is adapter i's core Σᵢ (k×k, row-major); zeros where adapter i lacks the module. */
  cores: Mat;
}

export interface JointBasis {
  baseModel: string;
  /** The largest basis size of any module. */
  k: number;
  tasks: MergedTask[];
  modules: JointModule[];
  fullFloats: number;
}

export function checkJointSize(k: number): number {
  if (!Number.isInteger(k) || k < 1) invalid('bad_k', `k is ${k}; the shared basis size must be an integer of at least 1.`, 'k');
  return k;
}

export async function jointCompress(members: Member[], opts: JointOptions): Promise<JointBasis> {
  checkMembers(members, 1);
  if ((opts.k === undefined) === (opts.storage === undefined))
    invalid(
      'bad_k',
      'give either k (the basis size of every module) or storage (a fraction of keeping every adapter), not both or neither.',
      'k',
    );
  const iters = opts.iters ?? 2;
  const full = fullFloats(members);
  const tasks = memberTasks(members);
  if (opts.storage !== undefined) {
    const aligned = alignMembers(members);
    const weights = await taskWeights(aligned, members.length);
    const storage = opts.storage;
    if (!(storage > 0 && Number.isFinite(storage)))
      invalid('bad_storage', `storage is ${storage}; give the fraction of keeping every adapter to spend, e.g. 0.5.`, 'storage');
    const fits = await fitBudgeted(aligned, weights, storage * full, iters);
    const modules: JointModule[] = [];
    for (const [m, slot] of aligned.entries()) modules.push({ ...slotOf(slot), ...(await expand(fits[m].cs, fits[m].fit)) });
    return { baseModel: members[0].baseModel, k: Math.max(...modules.map((m) => m.u.cols)), tasks, modules, fullFloats: full };
  }
  const k = checkJointSize(opts.k!);
  const sites = alignModules(members);
  const sketched = (site: AlignedSite) => site.modules.reduce((s, m) => s + (m ? m.rank : 0), 0) > 3 * (k + OVERSAMPLE);
  const fits = sites.some(sketched) ? await fitFamilies(sites, sketched, k, iters) : null;
  // Sites fitted in their core space (the stacked rank within a few k of k) widen their factors to float64.
  const aligned = fits ? null : alignMembers(members);
  const weights = fits?.weights ?? (await taskWeights(aligned!, members.length));
  const modules: JointModule[] = [];
  for (const [at, site] of sites.entries()) {
    const fitted = fits?.bySite.get(site);
    if (fitted) {
      modules.push({ ...slotOf(site.first), ...fitted });
      continue;
    }
    const slot = aligned?.[at] ?? alignedOf(slotOf(site.first), site.modules);
    const cs = await coreSpace(slot);
    const fit = await fitCore(cs, weights, Math.min(k, cs.maxK), iters);
    modules.push({ ...slotOf(slot), ...(await expand(cs, fit)) });
  }
  return { baseModel: members[0].baseModel, k: Math.max(...modules.map((m) => m.u.cols)), tasks, modules, fullFloats: full };
}

/**
 * The sketched sites, fitted a module family at a time (joint-sketch.ts), and the task weights 1/‖ΔWᵢ‖² over
 * every site, from the same batched block Grams.
 */
async function fitFamilies(
  sites: AlignedSite[],
  sketched: (site: AlignedSite) => boolean,
  k: number,
  iters: number,
): Promise<{ weights: number[]; bySite: Map<AlignedSite, { u: Mat; v: Mat; cores: Mat }> }> {
  const families = siteFamilies(sites);
  const norms = new Array<number>(sites[0].modules.length).fill(0);
  const grams = new Map<AlignedSite, BlockGrams>();
  for (const family of families) {
    for (const [site, g] of await blockGrams(family)) {
      grams.set(site, g);
      addSquaredNorms(norms, g, family.rb);
    }
  }
  const weights = norms.map((s) => (s > 0 ? 1 / s : 1));
  const bySite = new Map<AlignedSite, { u: Mat; v: Mat; cores: Mat }>();
  for (const family of families) {
    const chosen = family.sites.filter(sketched);
    if (chosen.length === 0) continue;
    const fits = await fitSketchedFamily({ ...family, sites: chosen }, grams, weights, k, iters);
    chosen.forEach((site, l) => bySite.set(site, fits[l]));
  }
  return { weights, bySite };
}

/** Adapter `name` of the set as an ordinary PEFT adapter of rank k: B = U·Σᵢ, A = Vᵀ. */
export function jointAdapter(basis: JointBasis, name: string): LoraAdapter {
  const task = taskIndex(basis.tasks, name);
  const paths = new Set(basis.tasks[task].paths);
  const modules = basis.modules.filter((m) => paths.has(m.path)).map((m) => ({ ...slotOf(m), ...jointFactors(m, task) }));
  return adapterFromFactors(modules, basis.baseModel);
}

export function jointFactors(m: { u: Mat; v: Mat; cores: Mat }, task: number): { b: Mat; a: Mat } {
  const k = m.u.cols;
  const core = { rows: k, cols: k, data: m.cores.data.subarray(task * k * k, (task + 1) * k * k) } as Mat;
  return { b: matmul(m.u, core), a: transpose(m.v) };
}

export interface JointReport {
  tasks: { name: string; relativeError: number }[];
  /** Floats stored over floats of keeping every adapter. */
  storage: number;
  k: number;
}

export function jointReport(basis: JointBasis, members: Member[]): JointReport {
  const aligned = new Map(alignMembers(members).map((s) => [s.path, s]));
  const tasks = basis.tasks.map((t, i) => {
    let err = 0;
    let norm = 0;
    for (const m of basis.modules) {
      const f = aligned.get(m.path)?.factors[i];
      if (!f) continue;
      const rec = jointFactors(m, i);
      const e = deltaDistance(f, rec);
      err += e.err;
      norm += e.norm;
    }
    return { name: t.name, relativeError: norm > 0 ? Math.sqrt(err / norm) : 0 };
  });
  return { tasks, storage: jointStorage(basis), k: basis.k };
}

/** Floats the basis stores (shared U, V and every core) over those of keeping every adapter. */
export function jointStorage(basis: JointBasis): number {
  return storedFloats(basis.modules.map((m) => ({ parts: { u: m.u, v: m.v, cores: m.cores } }))) / basis.fullFloats;
}

export const JOINT_FORMAT = 'rankgate-joint-basis';

/** A manifest (JSON) and safetensors-ready tensors: `<path>.u`, `<path>.v`, `<path>.cores` (F32). */
export function encodeJointBasis(basis: JointBasis): { manifest: Record<string, unknown>; tensors: Map<string, Tensor> } {
  const tensors = new Map<string, Tensor>();
  for (const m of basis.modules) {
    for (const [name, mat] of [
      ['u', m.u],
      ['v', m.v],
      ['cores', m.cores],
    ] as const) {
      tensors.set(`${m.path}.${name}`, { dtype: 'F32', shape: [mat.rows, mat.cols], data: Float32Array.from(mat.data) });
    }
  }
  const manifest = {
    format: JOINT_FORMAT,
    version: 1,
    base_model: basis.baseModel,
    k: basis.k,
    full_floats: basis.fullFloats,
    tasks: basis.tasks,
    modules: basis.modules.map((m) => slotOf(m)),
  };
  return { manifest, tensors };
}

export function decodeJointBasis(manifest: Record<string, unknown>, tensors: Map<string, Tensor>): JointBasis {
  if (manifest.format !== JOINT_FORMAT)
    invalid('bad_artifact', `the manifest's format is ${JSON.stringify(manifest.format)}, not "${JOINT_FORMAT}".`, 'manifest');
  const slots = manifest.modules as ModuleSlot[];
  const modules = slots.map((s) => ({
    ...slotOf(s),
    u: tensorMat(tensors, `${s.path}.u`),
    v: tensorMat(tensors, `${s.path}.v`),
    cores: tensorMat(tensors, `${s.path}.cores`),
  }));
  return {
    baseModel: manifest.base_model as string,
    k: manifest.k as number,
    tasks: manifest.tasks as MergedTask[],
    modules,
    fullFloats: manifest.full_floats as number,
  };
}

export function tensorMat(tensors: Map<string, Tensor>, key: string): Mat {
  const t = tensors.get(key);
  if (!t) invalid('bad_artifact', `the artifact has no tensor "${key}", which its manifest names.`, 'tensors');
  if ((t.dtype !== 'F32' && t.dtype !== 'F16') || t.shape.length !== 2)
    invalid('bad_artifact', `tensor "${key}" is ${t.dtype} ${JSON.stringify(t.shape)}; expected a 2-D F32 or F16 tensor.`, 'tensors');
  // The float32 values stay as the matrix's runtime copy: a decoded artifact is read, never written.
  const values = toFloat32(t);
  return keepFloat32({ rows: t.shape[0], cols: t.shape[1], data: Float64Array.from(values) }, values);
}
