/**
 * Shared-basis serving: adapters compressed jointly (an `rmm_shared` reversible merge, or a joint compression) keep
 * per module ΔWᵢ = U·Σᵢ·Vᵀ with U, V shared by every task. A batch whose rows use tasks of one such basis computes,
 * per projection per step, one x·V for all rows, a k×k core per row and one ·Uᵀ, instead of each row reading its
 * own rank-k factors (lora-rows.ts): 32 tasks then cost about what one adapter does.
 *
 * One basis per batch at a time: while rows of a basis run, a request of another basis takes the per-row path with
 * that task rebuilt as an ordinary adapter (`sharedTaskAdapter`, B = U·Σᵢ, A = Vᵀ; the same delta). When no row
 * uses a basis every feed is k = 1 of zeros (one shared buffer), so the extra path costs almost nothing.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { PROJECTIONS, projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import type { SharedBasis, SharedTask } from '../lowrank/serving-form.ts';

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

interface Slot {
  layer: number;
  projection: Projection;
  in: number;
  out: number;
}

/**
 * The shared-basis feeds of one running batch: the basis in use (at most one) and each row's core. Rows move and
 * clear as in LoraRows.
 */
export class SharedBasisRows {
  private readonly slots: Slot[] = [];
  private basis: SharedBasis | null = null;
  /** Per row: its task in `basis`, or -1. */
  private readonly tasks: Int32Array;
  private used = 0;
  /** Per module of `basis`: [rows, k, k], row i holding its task's Σᵀ or zeros. */
  private cores: Float32Array[] = [];
  private version = 0;
  private cached: { n: number; version: number; tensors: [string, ort.Tensor][] } | null = null;

  constructor(
    cfg: ModelConfig,
    readonly rows: number,
  ) {
    this.tasks = new Int32Array(rows).fill(-1);
    for (let layer = 0; layer < cfg.numLayers; layer++)
      for (const projection of PROJECTIONS) this.slots.push({ layer, projection, ...projectionShape(cfg, projection) });
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
      this.basis = shared.basis;
      this.cores = shared.basis.modules.map((m) => new Float32Array(this.rows * m.k * m.k));
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
    this.basis?.modules.forEach((m, i) => {
      const kk = m.k * m.k;
      this.cores[i].copyWithin(to * kk, from * kk, from * kk + kk);
      this.cores[i].fill(0, from * kk, from * kk + kk);
    });
  }

  private writeRow(row: number, task: number): void {
    this.tasks[row] = task;
    this.basis?.modules.forEach((m, i) => {
      const kk = m.k * m.k;
      if (task < 0) this.cores[i].fill(0, row * kk, row * kk + kk);
      else this.cores[i].set(m.coresT.subarray(task * kk, (task + 1) * kk), row * kk);
    });
  }

  /** Feed tensors for the first `n` rows by graph input name; the same objects until a row changes. */
  tensors(
    n: number,
    names: {
      v: (l: number, p: Projection) => string;
      core: (l: number, p: Projection) => string;
      uT: (l: number, p: Projection) => string;
    },
  ): [string, ort.Tensor][] {
    const c = this.cached;
    if (c && c.n === n && c.version === this.version) return c.tensors;
    const active = this.used > 0 && this.basis ? this.basis : null;
    const byPath = new Map(active?.modules.map((m, i) => [`${m.layer}.${m.projection}`, i]));
    const tensors: [string, ort.Tensor][] = [];
    for (const s of this.slots) {
      const i = byPath.get(`${s.layer}.${s.projection}`);
      const m = i === undefined ? undefined : active!.modules[i];
      const feeds = m
        ? [f32(m.v, [s.in, m.k]), f32(this.cores[i!].subarray(0, n * m.k * m.k), [n, m.k, m.k]), f32(m.uT, [m.k, s.out])]
        : [f32(this.zeros(s.in), [s.in, 1]), f32(this.zeros(1), [1, 1, 1]), f32(this.zeros(s.out), [1, s.out])];
      tensors.push(
        [names.v(s.layer, s.projection), feeds[0]],
        [names.core(s.layer, s.projection), feeds[1]],
        [names.uT(s.layer, s.projection), feeds[2]],
      );
    }
    this.cached = { n, version: this.version, tensors };
    return tensors;
  }

  private zeroBuffer = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuffer.length < n) this.zeroBuffer = new Float32Array(Math.max(n, 2 * this.zeroBuffer.length));
    return this.zeroBuffer.subarray(0, n);
  }
}
