/**
 * Shared-basis serving: adapters compressed jointly (an `rmm_shared` reversible merge, or a joint compression) keep
 * per module ΔWᵢ = U·Σᵢ·Vᵀ with U, V shared by every task. A batch whose rows use tasks of one such basis computes,
 * per unit of projections per step (q/k/v together, o, gate/up together, down), one x·V for all rows, a core per
 * row and one ·Uᵀ, instead of each row reading its own rank-k factors (lora-rows.ts): 32 tasks then cost about what
 * one adapter does.
 *
 * One basis per batch at a time: while rows of a basis run, a request of another basis takes the per-row path with
 * that task rebuilt as an ordinary adapter (`sharedTaskAdapter`, B = U·Σᵢ, A = Vᵀ; the same delta). When no row
 * uses a basis every feed is k = 1 of zeros (one shared buffer), so the extra path costs almost nothing.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import type { SharedBasis, SharedBasisModule, SharedTask } from '../lowrank/serving-form.ts';
import { PROJECTION_UNITS, type ProjectionUnit } from './llama.ts';

export type { SharedBasis, SharedBasisModule, SharedTask } from '../lowrank/serving-form.ts';
import { f32, type ort } from './runtime.ts';

const taskAdapters = new WeakMap<SharedBasis, Map<number, LoraAdapter>>();

/**
 * Task `task` of `basis` as an ordinary adapter of rank k per module, B = U·Σᵢ, A = Vᵀ: the per-row path's
 * equivalent of the shared path, for rows of a second basis while another one runs. Kept per basis.
 */
export function sharedTaskAdapter({ basis, task }: SharedTask): LoraAdapter {
  let byTask = taskAdapters.get(basis);
  if (!byTask) {
    byTask = new Map();
    taskAdapters.set(basis, byTask);
  }
  let adapter = byTask.get(task);
  if (adapter) return adapter;
  const modules = basis.modules
    .filter((m) => m.coresT.subarray(task * m.k * m.k, (task + 1) * m.k * m.k).some((x) => x !== 0))
    .map((m) => {
      const { k, out } = m;
      const core = m.coresT.subarray(task * k * k, (task + 1) * k * k);
      // B[o, c] = Σ_j U[o, j]·Σ[j, c] = Σ_j Uᵀ[j, o]·Σᵀ[c, j].
      const b = new Float32Array(out * k);
      for (let o = 0; o < out; o++)
        for (let c = 0; c < k; c++) {
          let s = 0;
          for (let j = 0; j < k; j++) s += m.uT[j * out + o] * core[c * k + j];
          b[o * k + c] = s;
        }
      const a = new Float32Array(k * m.in);
      for (let i = 0; i < m.in; i++) for (let j = 0; j < k; j++) a[j * m.in + i] = m.v[i * k + j];
      return { layer: m.layer, projection: m.projection, path: m.path, rank: k, scale: 1, in: m.in, out, a, b };
    });
  const k = Math.max(1, ...modules.map((m) => m.rank));
  const config = parseLoraConfig({ r: k, lora_alpha: k, target_modules: [...new Set(modules.map((m) => m.projection))] });
  adapter = { config, modules };
  byTask.set(task, adapter);
  return adapter;
}

export function checkSharedTask(shared: SharedTask, label: string): void {
  if (!Number.isInteger(shared.task) || shared.task < 0 || shared.task >= shared.basis.tasks.length)
    invalid('unknown_task', `${label}: task ${shared.task} is not one of the basis' ${shared.basis.tasks.length} tasks.`, 'model');
}

/**
 * One unit of projections (PROJECTION_UNITS) of one layer as the graph takes it: the members' bases side by side,
 * V = [V_q | V_k | V_v] [in, K] and a block-diagonal Uᵀ [K, Σ out], K = Σ k; each row's core is block-diagonal
 * [K, K] with its task's Σᵀ per member. The zero blocks cost little: cores are k×k, and Uᵀ is read once per step.
 */
interface Unit {
  layer: number;
  unit: ProjectionUnit;
  in: number;
  /** Σ out over the members. */
  out: number;
  members: { projection: Projection; outAt: number }[];
}

/** A unit's part of one basis: V and Uᵀ laid out as above, and where each member's module sits in K. */
interface UnitImage {
  k: number;
  v: Float32Array;
  uT: Float32Array;
  blocks: { module: SharedBasisModule; at: number }[];
}

const unitImages = new WeakMap<SharedBasis, Map<string, UnitImage | null>>();

function unitImage(basis: SharedBasis, u: Unit): UnitImage | null {
  let byUnit = unitImages.get(basis);
  if (!byUnit) {
    byUnit = new Map();
    unitImages.set(basis, byUnit);
  }
  const key = `${u.layer}.${u.unit}`;
  let img = byUnit.get(key);
  if (img !== undefined) return img;
  const found = u.members.flatMap(({ projection, outAt }) => {
    const module = basis.modules.find((m) => m.layer === u.layer && m.projection === projection);
    return module ? [{ module, outAt }] : [];
  });
  if (found.length === 0) img = null;
  else {
    const k = found.reduce((n, f) => n + f.module.k, 0);
    const v = new Float32Array(u.in * k);
    const uT = new Float32Array(k * u.out);
    const blocks: UnitImage['blocks'] = [];
    let at = 0;
    for (const { module: m, outAt } of found) {
      for (let i = 0; i < u.in; i++) v.set(m.v.subarray(i * m.k, (i + 1) * m.k), i * k + at);
      for (let j = 0; j < m.k; j++) uT.set(m.uT.subarray(j * m.out, (j + 1) * m.out), (at + j) * u.out + outAt);
      blocks.push({ module: m, at });
      at += m.k;
    }
    img = { k, v, uT, blocks };
  }
  byUnit.set(key, img);
  return img;
}

/**
 * The shared-basis feeds of one running batch: the basis in use (at most one) and each row's core. Rows move and
 * clear as in LoraRows.
 */
export class SharedBasisRows {
  private readonly units: Unit[] = [];
  private basis: SharedBasis | null = null;
  /** Per row: its task in `basis`, or -1. */
  private readonly tasks: Int32Array;
  private used = 0;
  /** Per unit, for `basis`: its image (null: no member in the basis) and [rows, K, K], row i its task's cores or zeros. */
  private images: (UnitImage | null)[] = [];
  private cores: Float32Array[] = [];
  private version = 0;
  private cached: { n: number; version: number; tensors: [string, ort.Tensor][] } | null = null;

  constructor(
    cfg: ModelConfig,
    readonly rows: number,
  ) {
    this.tasks = new Int32Array(rows).fill(-1);
    for (let layer = 0; layer < cfg.numLayers; layer++)
      for (const { unit, members } of PROJECTION_UNITS) {
        let out = 0;
        const placed = members.map((projection) => {
          const at = out;
          out += projectionShape(cfg, projection).out;
          return { projection, outAt: at };
        });
        this.units.push({ layer, unit, in: projectionShape(cfg, members[0]).in, out, members: placed });
      }
  }

  /** Whether a row of `basis` can take the shared path now (no other basis has rows running). */
  accepts(basis: SharedBasis): boolean {
    return this.used === 0 || this.basis === basis;
  }

  /** Puts task `shared` (or nothing) in row `row`; its basis must be accepted. */
  set(row: number, shared: SharedTask | null): void {
    this.version++;
    if (this.tasks[row] >= 0) {
      this.used--;
      this.writeRow(row, -1);
    }
    if (!shared) return;
    if (!this.accepts(shared.basis)) throw new Error('another shared basis has rows running in this batch');
    if (this.basis !== shared.basis) {
      const basis = shared.basis;
      this.basis = basis;
      this.images = this.units.map((u) => unitImage(basis, u));
      this.cores = this.images.map((img) => new Float32Array(img ? this.rows * img.k * img.k : 0));
    }
    this.used++;
    this.writeRow(row, shared.task);
  }

  /** Moves row `from` to row `to` (swap-remove); row `from` becomes empty. */
  move(from: number, to: number): void {
    if (from === to) {
      this.set(to, null);
      return;
    }
    this.version++;
    if (this.tasks[to] >= 0) this.used--;
    this.tasks[to] = this.tasks[from];
    this.tasks[from] = -1;
    this.images.forEach((img, i) => {
      if (!img) return;
      const kk = img.k * img.k;
      this.cores[i].copyWithin(to * kk, from * kk, from * kk + kk);
      this.cores[i].fill(0, from * kk, from * kk + kk);
    });
  }

  private writeRow(row: number, task: number): void {
    this.tasks[row] = task;
    this.images.forEach((img, i) => {
      if (!img) return;
      const { k } = img;
      const slab = this.cores[i].subarray(row * k * k, (row + 1) * k * k);
      slab.fill(0);
      if (task < 0) return;
      for (const { module: m, at } of img.blocks) {
        const core = m.coresT.subarray(task * m.k * m.k, (task + 1) * m.k * m.k);
        for (let a = 0; a < m.k; a++) slab.set(core.subarray(a * m.k, (a + 1) * m.k), (at + a) * k + at);
      }
    });
  }

  /** Feed tensors for the first `n` rows by graph input name; the same objects until a row changes. */
  tensors(
    n: number,
    names: {
      v: (l: number, u: ProjectionUnit) => string;
      core: (l: number, u: ProjectionUnit) => string;
      uT: (l: number, u: ProjectionUnit) => string;
    },
  ): [string, ort.Tensor][] {
    const c = this.cached;
    if (c && c.n === n && c.version === this.version) return c.tensors;
    const active = this.used > 0;
    const tensors: [string, ort.Tensor][] = [];
    this.units.forEach((u, i) => {
      const img = active ? this.images[i] : null;
      const feeds = img
        ? [f32(img.v, [u.in, img.k]), f32(this.cores[i].subarray(0, n * img.k * img.k), [n, img.k, img.k]), f32(img.uT, [img.k, u.out])]
        : [f32(this.zeros(u.in), [u.in, 1]), f32(this.zeros(1), [1, 1, 1]), f32(this.zeros(u.out), [1, u.out])];
      tensors.push([names.v(u.layer, u.unit), feeds[0]], [names.core(u.layer, u.unit), feeds[1]], [names.uT(u.layer, u.unit), feeds[2]]);
    });
    this.cached = { n, version: this.version, tensors };
    return tensors;
  }

  private zeroBuffer = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuffer.length < n) this.zeroBuffer = new Float32Array(Math.max(n, 2 * this.zeroBuffer.length));
    return this.zeroBuffer.subarray(0, n);
  }
}
