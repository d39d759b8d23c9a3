/**
 * The merge methods, each declared once: its name, what it computes, its parameters (zod), whether it keeps its
 * tasks (reversible), the rules on its members' ranks, and what it serves as. The edge's validation, the
 * worker's dispatch (gpu-backend/lowrank/methods/<name>.ts implements each), the CLI's help, openapi.yaml and
 * README.md's method table all derive from this list, in the way mergekit's `merge_methods/registry.py` is the
 * one list of its methods. Pure: no Node or Workers API.
 */
import { z } from '@hono/zod-openapi';
import { REVERSIBLE_FLOAT_BITS } from '../formats/job-artifacts.ts';
import { MAX_RANK } from '../formats/peft-config.ts';

/** A request the method refuses, with the code both the edge and a backend answer it with. */
export interface MethodRefusal {
  code: string;
  message: string;
  param: string;
}

/** One parameter a method reads: its schema and what it means for that method. */
export interface MethodParam {
  /** How a command line reads it: an integer, a number, or a comma-separated list of numbers. */
  kind: 'integer' | 'number' | 'numbers';
  schema: z.ZodType<number> | z.ZodType<number[]>;
  doc: string;
}

/** A member as the rank rules see it. */
export interface RankedMember {
  name: string;
  /** The largest rank of its modules. */
  rank: number;
}

/** The parameters as given, after each passed its schema (absent ones undefined). */
export type GivenParams = Partial<Record<string, number | number[]>>;

export interface MergeMethodDeclaration {
  name: string;
  /** What it computes, one line (README table, CLI help, openapi). */
  summary: string;
  /** Where the method comes from (paper, PEFT or mergekit name). */
  reference: string;
  /**
   * Reversible methods keep every member task in a shared basis (artifact `reversible_basis`; each task can be
   * reverted); the others collapse their members into one PEFT adapter (`peft_adapter`) and keep no task.
   */
  reversible: boolean;
  /**
   * How `<base>:<merge>/<task>` is served: `shared_basis` runs the task through its basis (one x·V and one ·Uᵀ per
   * module for every row of the basis), `rebuilt_task` rebuilds it as an ordinary adapter; null: no tasks to serve.
   */
  servesTasksAs: 'shared_basis' | 'rebuilt_task' | null;
  params: Record<string, MethodParam>;
  /** Checks of the parameters against the number of adapters merged (the body alone). */
  checkParams?(params: GivenParams, adapters: number): MethodRefusal | undefined;
  /** Checks that need the members' ranks. */
  checkRanks?(params: GivenParams, members: RankedMember[]): MethodRefusal | undefined;
}

const weights = (doc: string): MethodParam => ({ kind: 'numbers', schema: z.array(z.number().finite()), doc });
const density = (doc: string): MethodParam => ({ kind: 'number', schema: z.number().gt(0).max(1), doc });
const basisSize = (doc: string): MethodParam => ({ kind: 'integer', schema: z.number().int().min(1).max(4096), doc });

const TASK_BASIS = basisSize(
  "p, how many tasks' worth of shared basis to keep, at most the number of adapters (default: all of them, every task rebuilt exactly)",
);
/** rmm_shared's storage precision (the artifact's float_bits, contracts/formats/job-artifacts.ts). */
const FLOAT_BITS: MethodParam = {
  kind: 'integer',
  schema: z.union(REVERSIBLE_FLOAT_BITS.map((b) => z.literal(b)) as unknown as [z.ZodLiteral<32>, z.ZodLiteral<16>]),
  doc: "bits per stored value of the basis and cores: 32 (default) or 16 (float16: half the bytes, so p tasks' worth of storage holds about twice the basis; every value rounded to 11 significant bits, so even p = n rebuilds each task only to float16 precision)",
};
const REFUSE_TASK_WEIGHTS =
  'a reversible merge keeps every task as it is (each task is weighted by 1/‖ΔWᵢ‖² in the basis fit so that none is drowned), so weights do not apply; weight the tasks when you merge their reverts, or use task_arithmetic';

function basisAtMostAdapters(params: GivenParams, adapters: number): MethodRefusal | undefined {
  const p = params.basis_size as number | undefined;
  if (p !== undefined && p > adapters)
    return {
      code: 'invalid_field',
      param: 'basis_size',
      message: `a basis of ${p} tasks is larger than the ${adapters} adapters merged; give at most ${adapters}.`,
    };
  return undefined;
}

function totalRank(members: RankedMember[]): number {
  return members.reduce((s, m) => s + m.rank, 0);
}

/** cat and exact task arithmetic keep every member's rank. */
function concatenatedRankFits(method: string) {
  return (params: GivenParams, members: RankedMember[]): MethodRefusal | undefined => {
    const total = totalRank(members);
    if (method === 'task_arithmetic' && params.basis_size !== undefined) return undefined;
    if (total > MAX_RANK)
      return {
        code: 'merged_rank_too_large',
        param: 'adapters',
        message: `${method} keeps every member's rank, ${total} in all, above the ${MAX_RANK} an adapter may have; use svd (with basis_size as the rank), or merge fewer adapters.`,
      };
    return undefined;
  };
}

/** Truncating to a rank above what the members add up to keeps nothing more. */
function rankAtMostTotal(method: string) {
  return (params: GivenParams, members: RankedMember[]): MethodRefusal | undefined => {
    const rank = params.basis_size as number | undefined;
    const total = totalRank(members);
    if (rank !== undefined && rank > Math.min(total, MAX_RANK)) {
      const most = Math.min(total, MAX_RANK);
      return {
        code: 'invalid_field',
        param: 'basis_size',
        message: `basis_size ${rank} is the rank of the ${method} merge, above the ${most} the members' ranks add up to (or an adapter may have); ask for at most ${most}.`,
      };
    }
    return undefined;
  };
}

/** PEFT's linear stacks lora_A and lora_B: one rank for all, and √weight needs weight ≥ 0. */
function sameRankNonNegativeWeights(params: GivenParams, members: RankedMember[]): MethodRefusal | undefined {
  const other = members.findIndex((m) => m.rank !== members[0].rank);
  if (other >= 0)
    return {
      code: 'rank_mismatch',
      param: `adapters.${other}`,
      message: `linear merges lora_A and lora_B separately (as PEFT does), so every adapter needs one rank, but "${members[0].name}" has rank ${members[0].rank} and "${members[other].name}" rank ${members[other].rank}; use cat, svd or task_arithmetic, which take any ranks.`,
    };
  const w = params.weights as number[] | undefined;
  const negative = w?.findIndex((x) => x < 0) ?? -1;
  if (negative >= 0)
    return {
      code: 'invalid_field',
      param: `weights.${negative}`,
      message: `linear scales both factors by √weight, so weights must be ≥ 0; weights.${negative} is ${w![negative]}. Use task_arithmetic for negative weights.`,
    };
  return undefined;
}

const DECLARATIONS = [
  {
    name: 'rmm_shared',
    summary:
      'reversible: per module a shared basis U, V and a small core per task (ΔWᵢ ≈ U·Σᵢ·Vᵀ), the basis size of each module chosen so the merge stores about p tasks’ worth of bytes (float32, or float16 with float_bits 16)',
    reference: 'arXiv 2510.14163 (reversible merging), with a joint basis after arXiv 2407.00066',
    reversible: true,
    servesTasksAs: 'shared_basis',
    params: { basis_size: TASK_BASIS, float_bits: FLOAT_BITS },
    checkParams: basisAtMostAdapters,
  },
  {
    name: 'rmm_factor',
    summary: 'reversible, as published: per row of B and column of A, the tasks’ r-vectors as a mean plus p principal directions',
    reference: 'arXiv 2510.14163, construction (a)',
    reversible: true,
    servesTasksAs: 'rebuilt_task',
    params: { basis_size: TASK_BASIS },
    checkParams: basisAtMostAdapters,
  },
  {
    name: 'rmm_delta',
    summary: 'reversible: p orthonormal basis deltas (top eigenvectors of the tasks’ Gram matrix) and a coefficient per task',
    reference: 'arXiv 2510.14163, construction (b)',
    reversible: true,
    servesTasksAs: 'rebuilt_task',
    params: { basis_size: TASK_BASIS },
    checkParams: basisAtMostAdapters,
  },
  {
    name: 'task_arithmetic',
    summary: 'Σ wᵢ·ΔWᵢ, exact as a concatenation, or truncated to basis_size by SVD',
    reference: 'PEFT cat / svd; mergekit task_arithmetic',
    reversible: false,
    servesTasksAs: null,
    params: {
      weights: weights('one per adapter, in order (default 1 each)'),
      basis_size: basisSize('rank of the result, truncated by SVD (default: exact, the members’ ranks added up)'),
    },
    checkRanks: (params, members) =>
      concatenatedRankFits('task_arithmetic')(params, members) ?? rankAtMostTotal('task_arithmetic')(params, members),
  },
  {
    name: 'ties',
    summary:
      'each ΔWᵢ trimmed to density by magnitude, the sign of the total elected, the mean of the agreeing; truncated to the largest member rank',
    reference: 'PEFT ties_svd; arXiv 2306.01708',
    reversible: false,
    servesTasksAs: null,
    params: {
      weights: weights('one per adapter, in order (default 1 each)'),
      density: density('fraction of each delta’s entries kept (default 0.5)'),
    },
  },
  {
    name: 'dare',
    summary:
      'each entry of ΔWᵢ kept with probability density (seeded) and rescaled by 1/density, then summed; truncated to the largest member rank',
    reference: 'PEFT dare_linear_svd; arXiv 2311.03099',
    reversible: false,
    servesTasksAs: null,
    params: {
      weights: weights('one per adapter, in order (default 1 each)'),
      density: density('fraction of each delta’s entries kept (default 0.5)'),
    },
  },
  {
    name: 'cat',
    summary: 'lora_A rows wᵢ·sᵢ·Aᵢ stacked, lora_B columns Bᵢ: exactly Σ wᵢ·ΔWᵢ at the members’ ranks added up',
    reference: 'PEFT cat',
    reversible: false,
    servesTasksAs: null,
    params: { weights: weights('one per adapter, in order (default 1 each)') },
    checkRanks: concatenatedRankFits('cat'),
  },
  {
    name: 'svd',
    summary: 'Σ wᵢ·ΔWᵢ truncated to basis_size by SVD: B = U·S, A = Vᵀ',
    reference: 'PEFT svd',
    reversible: false,
    servesTasksAs: null,
    params: {
      weights: weights('one per adapter, in order (default 1 each)'),
      basis_size: basisSize('rank of the result, at most the members’ ranks added up (default: the largest member rank)'),
    },
    checkRanks: rankAtMostTotal('svd'),
  },
  {
    name: 'linear',
    summary: 'A = Σ √(wᵢsᵢ)·Aᵢ and B = Σ √(wᵢsᵢ)·Bᵢ merged separately (cross terms included); one rank for all',
    reference: 'PEFT linear',
    reversible: false,
    servesTasksAs: null,
    params: { weights: weights('one per adapter, in order, each ≥ 0 (default 1/n each: the mean)') },
    checkRanks: sameRankNonNegativeWeights,
  },
  {
    name: 'della',
    summary:
      'mergekit’s DELLA on whole deltas: each row of ΔWᵢ kept entry by entry with probability density ± epsilon by magnitude rank (MagPrune) and rescaled to its L1 norm, the sign of the weighted sum elected, the weighted mean of the agreeing, times lambda; truncated to the largest member rank',
    reference: 'mergekit della; arXiv 2406.11617',
    reversible: false,
    servesTasksAs: null,
    params: {
      weights: weights('one per adapter, in order (default 1 each)'),
      density: density('mean fraction of each row’s entries kept (default 1, mergekit’s: nothing pruned)'),
      epsilon: {
        kind: 'number',
        schema: z.number().min(0).lt(0.5),
        doc: 'keep probabilities spread over density ± epsilon by magnitude rank (default 0.15)',
      },
      lambda: { kind: 'number', schema: z.number().finite(), doc: 'scales the merged delta (default 1)' },
    },
    checkParams: (params) => {
      const d = (params.density as number | undefined) ?? 1;
      const e = (params.epsilon as number | undefined) ?? 0.15;
      if (d < 1 && !(d - e > 0 && d + e < 1))
        return {
          code: 'invalid_field',
          param: 'epsilon',
          message: `keep probabilities run from density − epsilon to density + epsilon, ${d - e} to ${d + e} here; choose epsilon so that both lie strictly between 0 and 1.`,
        };
      return undefined;
    },
  },
  {
    name: 'breadcrumbs',
    summary:
      'mergekit’s Model Breadcrumbs on whole deltas: of each ΔWᵢ the gamma fraction of largest magnitudes and the smallest are dropped so that density is kept, then Σ wᵢ·ΔWᵢ times lambda; truncated to the largest member rank',
    reference: 'mergekit breadcrumbs; arXiv 2312.06795',
    reversible: false,
    servesTasksAs: null,
    params: {
      weights: weights('one per adapter, in order (default 1 each)'),
      density: density('fraction of each delta’s entries kept (default 1, mergekit’s: nothing dropped)'),
      gamma: {
        kind: 'number',
        schema: z.number().min(0).max(1),
        doc: 'fraction of the largest-magnitude entries dropped as outliers (default 0.01)',
      },
      lambda: { kind: 'number', schema: z.number().finite(), doc: 'scales the merged delta (default 1)' },
    },
  },
] as const satisfies readonly MergeMethodDeclaration[];

export type MergeMethod = (typeof DECLARATIONS)[number]['name'];

export const MERGE_METHODS = DECLARATIONS.map((d) => d.name) as unknown as readonly [MergeMethod, ...MergeMethod[]];

export const MERGE_METHOD_DECLARATIONS: ReadonlyMap<MergeMethod, MergeMethodDeclaration> = new Map(
  DECLARATIONS.map((d) => [d.name, d as MergeMethodDeclaration]),
);

export function declarationOf(method: MergeMethod): MergeMethodDeclaration {
  return MERGE_METHOD_DECLARATIONS.get(method)!;
}

export const REVERSIBLE_MERGE_METHODS: readonly MergeMethod[] = DECLARATIONS.filter((d) => d.reversible).map((d) => d.name);

/** Reversible merges keep a shared basis from which each member task is rebuilt (and reverted). */
export function isReversibleMerge(method: MergeMethod): boolean {
  return declarationOf(method).reversible;
}

/** What a merge leaves under its output prefix. */
export function mergeLayout(method: MergeMethod): 'reversible_basis' | 'peft_adapter' {
  return isReversibleMerge(method) ? 'reversible_basis' : 'peft_adapter';
}

/** A reversible merge of n adapters without basis_size keeps n tasks' worth of basis: every task rebuilt exactly. */
export function reversibleBasisSize(basisSize: number | null | undefined, members: number): number {
  return basisSize ?? members;
}

/** Every parameter name any method reads, in first-declared order. */
export const MERGE_PARAM_NAMES: readonly string[] = [...new Set(DECLARATIONS.flatMap((d) => Object.keys(d.params)))];

/**
 * The refusals of a merge request's parameters, before any adapter is looked at: a parameter the method does
 * not read (never silently dropped), one that fails the method's schema, weights not one per adapter, and the
 * method's own checks.
 */
export function paramRefusals(method: MergeMethod, params: GivenParams, adapters: number): MethodRefusal[] {
  const d = declarationOf(method);
  const out: MethodRefusal[] = [];
  const takes = Object.keys(d.params);
  for (const name of MERGE_PARAM_NAMES) {
    const value = params[name];
    if (value === undefined) continue;
    if (!takes.includes(name)) {
      const why = name === 'weights' && d.reversible ? REFUSE_TASK_WEIGHTS : `it takes ${takes.join(', ') || 'no parameters'}`;
      out.push({ code: 'invalid_field', param: name, message: `${name} does not apply to method "${method}": ${why}.` });
      continue;
    }
    const parsed = d.params[name].schema.safeParse(value);
    if (!parsed.success)
      out.push({ code: 'invalid_field', param: name, message: `${name} for ${method}: ${parsed.error.issues[0].message}.` });
  }
  const w = params.weights;
  if (Array.isArray(w) && takes.includes('weights') && w.length !== adapters)
    out.push({ code: 'invalid_field', param: 'weights', message: `give one weight per adapter (${adapters}), not ${w.length}.` });
  if (out.length === 0) {
    const own = d.checkParams?.(params, adapters);
    if (own) out.push(own);
  }
  return out;
}

/** The refusal of a merge of members with these ranks, if any. */
export function rankRefusal(method: MergeMethod, params: GivenParams, members: RankedMember[]): MethodRefusal | undefined {
  return declarationOf(method).checkRanks?.(params, members);
}

/** For openapi.yaml and the CLI: what a parameter means, method by method. */
export function paramDoc(name: string): string {
  // Methods that say the same of it share one entry: "rmm_shared, rmm_factor: …".
  const byDoc = new Map<string, string[]>();
  for (const d of DECLARATIONS) {
    const p = (d.params as Record<string, MethodParam>)[name];
    if (p) byDoc.set(p.doc, [...(byDoc.get(p.doc) ?? []), d.name]);
  }
  return [...byDoc].map(([doc, methods]) => `${methods.join(', ')}: ${doc}`).join('; ');
}

/** A parameter's declaration, as the first method that reads it declares it (its kind and schema's type agree across methods). */
export function paramOf(name: string): MethodParam {
  return (DECLARATIONS.find((d) => name in d.params)!.params as Record<string, MethodParam>)[name];
}

/** The methods that read a parameter. */
export function methodsTaking(name: string): MergeMethod[] {
  return DECLARATIONS.filter((d) => name in d.params).map((d) => d.name);
}
