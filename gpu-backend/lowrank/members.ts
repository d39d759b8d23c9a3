/**
 * The adapters a merge or a joint compression takes, and the checks every such operation runs on them first,
 * so that bad input is refused with a message that says what to change before any work starts.
 */
import { firstNonFinite, type LoraAdapter } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';

export interface Member {
  /** The name the task is known by (reverts and reports use it). */
  name: string;
  /** The base model the adapter was made for. */
  baseModel: string;
  adapter: LoraAdapter;
}

/**
 * `scanValues` false leaves out the scan for NaN and ±Inf, for a caller that reads every value anyway and runs
 * this again (with the scan) where what it computed is not finite.
 */
export function checkMembers(members: Member[], min = 1, scanValues = true): void {
  if (members.length < min)
    invalid('bad_adapters', `give at least ${min} adapter${min > 1 ? 's' : ''}; got ${members.length}.`, 'adapters');
  const names = new Set<string>();
  for (const m of members) {
    if (names.has(m.name)) invalid('duplicate_adapter', `adapter "${m.name}" is listed twice; name each adapter once.`, 'adapters');
    names.add(m.name);
  }
  const base = members[0].baseModel;
  const other = members.find((m) => m.baseModel !== base);
  if (other)
    invalid(
      'base_model_mismatch',
      `adapter "${other.name}" was made for base model "${other.baseModel}" but "${members[0].name}" for "${base}"; merge adapters of one base model.`,
      'adapters',
    );
  const shapes = new Map<string, string>();
  for (const m of members) {
    for (const mod of m.adapter.modules) {
      const shape = `${mod.out}×${mod.in}`;
      const seen = shapes.get(mod.path);
      if (seen && seen !== shape)
        invalid(
          'base_model_mismatch',
          `adapter "${m.name}" has ${mod.path} of shape ${shape}, another adapter ${seen}; they were made for different base models.`,
          'adapters',
        );
      shapes.set(mod.path, shape);
      if (!scanValues) continue;
      for (const [which, data] of [
        ['lora_A', mod.a],
        ['lora_B', mod.b],
      ] as const) {
        const bad = firstNonFinite(data);
        if (bad >= 0)
          invalid(
            'adapter_not_finite',
            `adapter "${m.name}": ${mod.path}.${which} holds ${data[bad]} at index ${bad}; adapter weights must be finite.`,
            'adapters',
          );
      }
    }
  }
}

/** Per-adapter weights: the given list (one finite number per adapter) or `fallback` for each. */
export function checkWeights(weights: number[] | undefined, count: number, fallback: number): number[] {
  if (weights === undefined) return Array(count).fill(fallback);
  if (weights.length !== count)
    invalid('bad_weights', `weights has ${weights.length} values for ${count} adapters; give one weight per adapter.`, 'weights');
  const bad = weights.find((w) => !Number.isFinite(w));
  if (bad !== undefined) invalid('bad_weights', `weights holds ${bad}; each weight must be a finite number.`, 'weights');
  return weights;
}

/** A keep fraction for TIES and DARE: in (0, 1]. */
export function checkDensity(density: number): number {
  if (!(density > 0 && density <= 1))
    invalid('bad_density', `density is ${density}; it must be in (0, 1] (the fraction of each delta kept).`, 'density');
  return density;
}

/** A basis size p for a reversible merge of n adapters: an integer 1 ≤ p ≤ n. */
export function checkBasisSize(p: number, n: number): number {
  if (!Number.isInteger(p) || p < 1 || p > n)
    invalid('bad_basis_size', `basis size is ${p}; for ${n} adapters it must be an integer from 1 to ${n}.`, 'basis_size');
  return p;
}
