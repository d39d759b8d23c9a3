/**
 * Shared-basis tasks: adapters compressed jointly (an `rmm_shared` reversible merge, or a joint compression) keep
 * per module ΔWᵢ = U·Σᵢ·Vᵀ with U, V shared by every task. A row running task i is fed as A = V, C = Σᵢᵀ, B = Uᵀ
 * (lora-rows.ts); rows of one basis share V and Uᵀ, so 32 tasks compute one x·V and one ·Uᵀ for the batch and a
 * k×k core each, about what one adapter costs. Rows of different bases in one batch each read their own copy.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import type { SharedBasis, SharedTask } from '../lowrank/serving-form.ts';

export type { SharedBasis, SharedBasisModule, SharedTask } from '../lowrank/serving-form.ts';

const taskAdapters = new WeakMap<SharedBasis, Map<number, LoraAdapter>>();

/**
 * Task `task` of `basis` as an ordinary adapter of rank k per module, B = U·Σᵢ, A = Vᵀ: the same delta, for a caller
 * that needs the task as a standalone adapter (the engine serves tasks through their basis). Kept per basis.
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
