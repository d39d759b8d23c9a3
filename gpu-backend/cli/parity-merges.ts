/**
 * The merges a parity fixture names in reference.json, `merges: {<key>: {adapters, combination_type?, weights?,
 * svd_rank?, svd_clamp?, density?, ok?}}`, built with our collapsed merges so that `logits.merge_<key>` can be
 * checked like any adapter's logits. Without combination_type the key names it (`linear_bc` is a linear merge);
 * without weights, PEFT's fixture README convention holds: 1 each, 1/n for linear. `ok: false` records that
 * PEFT refused the merge, and then ours must refuse it too.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { mergeCollapsed } from '../lowrank/merge-collapsed.ts';
import { specFromPeft } from '../lowrank/merge-peft.ts';

const PEFT_COMBINATIONS = [
  'cat',
  'linear',
  'svd',
  'ties',
  'ties_svd',
  'dare_linear',
  'dare_ties',
  'dare_linear_svd',
  'dare_ties_svd',
  'magnitude_prune',
  'magnitude_prune_svd',
];

interface MergeEntry {
  adapters: string[];
  combination_type?: string;
  weights?: number[];
  svd_rank?: number;
  svd_clamp?: number;
  density?: number;
  ok?: boolean;
}

export interface FixtureMerges {
  /** Built merges by `merge_<key>`, the name their logits carry. */
  adapters: Map<string, LoraAdapter>;
  /** Per key with `ok: false`: whether our merge refused it as PEFT did. */
  refused: Record<string, boolean>;
  /** Keys PEFT merged and ours refused (a parity failure). */
  failed: string[];
}

/**
 * PEFT's combination_type for a key: the longest known name the key is or starts with (then `_`). PEFT turns
 * any merge of a single adapter into `linear`.
 */
function combinationOf(key: string, entry: MergeEntry): string {
  if (entry.adapters.length === 1) return 'linear';
  if (entry.combination_type) return entry.combination_type;
  const fits = PEFT_COMBINATIONS.filter((c) => key === c || key.startsWith(`${c}_`));
  return fits.sort((x, y) => y.length - x.length)[0] ?? key;
}

export async function fixtureMerges(
  referenceJson: Record<string, unknown>,
  adapters: Map<string, LoraAdapter>,
  log: (line: string) => void,
): Promise<FixtureMerges> {
  const out: FixtureMerges = { adapters: new Map(), refused: {}, failed: [] };
  const entries = (referenceJson.merges ?? {}) as Record<string, MergeEntry>;
  const baseModel = typeof referenceJson.model === 'string' ? referenceJson.model : 'base';
  for (const [key, entry] of Object.entries(entries)) {
    const combination = combinationOf(key, entry);
    const spec = specFromPeft({
      combination_type: combination,
      weights: entry.weights,
      svd_rank: entry.svd_rank,
      svd_clamp: entry.svd_clamp,
      density: entry.density,
    });
    const missing = entry.adapters.find((a) => !adapters.has(a));
    if (!spec || missing) {
      log(
        `merge_${key}: not built (${missing ? `no adapter "${missing}"` : `PEFT combination "${combination}" is not reproducible here`})`,
      );
      continue;
    }
    const members = entry.adapters.map((name) => ({ name, baseModel, adapter: adapters.get(name)! }));
    try {
      const { adapter, report } = await mergeCollapsed(members, spec);
      if (entry.ok === false) {
        out.refused[key] = false;
        log(`merge_${key}: PEFT refused this merge but ours built it  FAIL`);
      } else {
        out.adapters.set(`merge_${key}`, adapter);
        log(`merge_${key}: ${combination} of ${entry.adapters.join(', ')}, rank ${report.rank}`);
      }
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      if (entry.ok === false) out.refused[key] = true;
      else out.failed.push(key);
      log(`merge_${key}: refused${entry.ok === false ? ' as PEFT does' : ', but PEFT merged it  FAIL'} (${e.message})`);
    }
  }
  return out;
}
