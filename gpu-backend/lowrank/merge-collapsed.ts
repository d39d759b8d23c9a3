/**
 * Collapsed (classic) merges: n adapters of one base in, one ordinary PEFT adapter out. The reference is
 * PEFT's `LoraModel.add_weighted_adapter` (tuners/lora/model.py) and `utils/merge_utils.py`, followed per
 * module: an adapter that lacks a module is left out of that module's merge; `cat` scales lora_A by
 * weight·scaling; `linear` and the factor-space TIES/DARE scale both factors by √(weight·scaling) and merge
 * lora_A and lora_B separately (so cross terms Bᵢ·Aⱼ appear); `svd` and the delta-space methods merge whole
 * deltas and factor the result by a truncated SVD (B = U·S, A = Vᵀ), with PEFT's optional clamp.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { AdapterModule, LoraAdapter } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { MAX_RANK } from '../../contracts/formats/peft-config.ts';
import { type F32Mat, onRuntime } from './gemm-runner.ts';
import { fromArray, type Mat, zeros } from './linalg.ts';
import { checkDensity, checkMembers, checkWeights, type Member } from './members.ts';
import { type Merged, toAdapter } from './merge-peft.ts';
import { type Combiner, combine, combineRule, type DeltaRule } from './merge-ties-dare.ts';
import { memberDelta } from './member-delta.ts';
import { relativeErrors } from './delta-distance.ts';
import { alignModules } from './module-alignment.ts';
import { deltaFactors } from './peft-adapter.ts';
import { randomizedSvd, svdOfFactors } from './svd.ts';
import { withIntraOpThreads } from './intra-op-threads.ts';
import { giveBackRows, tiesOffThread, tiesThreadBusy } from './ties-offthread.ts';
import { defaultPassSide } from './ties-passes.ts';
import { tiesOnRuntime } from './ties-runtime.ts';

/** TIES of a large module: on a GPU host in the runtime's graphs (tiesOnRuntime), on the CPU off the main thread. */
const tiesOf = (factors: { b: Mat; a: Mat }[], weights: number[], density: number, seed: number): Promise<F32Mat> =>
  defaultPassSide() === 'kernels' ? tiesOffThread(factors, weights, density, seed) : tiesOnRuntime(factors, weights, density, seed);

/**
 * The SVD's products on one intra-op thread while the TIES thread has a module (the critical path: a second
 * intra-op thread took a third to a half of its core), on the default otherwise (the last module's SVD). A product
 * gives the same bits on one thread or two (each output is one thread's full sum either way).
 */
const besideTiesThread = <T>(svd: () => Promise<T>): Promise<T> =>
  defaultPassSide() === 'kernels' ? withIntraOpThreads(() => (tiesThreadBusy() ? 1 : undefined), svd) : svd();

export const COLLAPSED_METHODS = ['cat', 'linear', 'svd', 'task_arithmetic', 'ties', 'dare'] as const;
export type CollapsedMethod = (typeof COLLAPSED_METHODS)[number];

export interface CollapsedSpec {
  method: CollapsedMethod;
  /** One per member, in order. Default 1 each; 1/n for `linear` (the mean). */
  weights?: number[];
  /**
   * Rank of the result. `svd`: PEFT's svd_rank (default: the largest member rank). Delta-space `ties`/`dare`:
   * the SVD truncation (same default). `task_arithmetic`: optional; without it the merge is exact (concatenated).
   */
  rank?: number;
  /** `svd` and delta-space `ties`/`dare`: PEFT's svd_clamp, a quantile in [0, 1] of the entries of U·S and Vᵀ that bounds both. */
  clamp?: number;
  /** `ties`/`dare`: the fraction of entries kept, in (0, 1]. Default 0.5. */
  density?: number;
  /** `task_arithmetic`: λ in ΔW = λ·Σ wᵢ·ΔWᵢ. Default 1. */
  lambda?: number;
  /**
   * `ties`/`dare`: 'delta' (default) merges whole deltas ΔWᵢ then truncates by SVD (PEFT's ties_svd,
   * dare_linear_svd, dare_ties_svd); 'factors' merges lora_A and lora_B separately (PEFT's ties, dare_linear,
   * dare_ties), which needs equal ranks.
   */
  space?: 'delta' | 'factors';
  /** `dare`: elect signs and take the disjoint mean as TIES does (PEFT's dare_ties) instead of summing (dare_linear). */
  electSign?: boolean;
  /** `dare`: seed of the keep masks (same seed, same adapter). Default 0. */
  seed?: number;
}

export interface CollapsedReport {
  method: CollapsedMethod;
  /** The PEFT combination_type this merge corresponds to. */
  peftCombination: string;
  weights: number[];
  /** The rank of the result's modules (the largest, where they differ). */
  rank: number;
  /** Per member: ‖ΔW_merged − ΔWᵢ‖ / ‖ΔWᵢ‖, Frobenius norms summed over all modules of either. */
  tasks: { name: string; relativeError: number }[];
}

/** The members' modules at one path, with the index of each member that has it. */
interface Site {
  path: string;
  parts: { member: number; module: AdapterModule }[];
}

const FACTOR_METHODS = ['linear', 'ties', 'dare'];

export async function mergeCollapsed(members: Member[], spec: CollapsedSpec): Promise<{ adapter: LoraAdapter; report: CollapsedReport }> {
  if (!COLLAPSED_METHODS.includes(spec.method))
    invalid('bad_method', `method "${spec.method}" is not a collapsed merge; use one of ${COLLAPSED_METHODS.join(', ')}.`, 'method');
  checkMembers(members);
  const n = members.length;
  const weights = checkWeights(spec.weights, n, spec.method === 'linear' ? 1 / n : 1);
  const space = spec.space ?? 'delta';
  if (space !== 'delta' && space !== 'factors')
    invalid(
      'bad_space',
      `space is "${space}"; use "delta" (merge whole deltas) or "factors" (merge lora_A and lora_B separately, as PEFT's plain ties/dare).`,
      'space',
    );
  const density = spec.method === 'ties' || spec.method === 'dare' ? checkDensity(spec.density ?? 0.5) : 1;
  if (spec.rank !== undefined && !(Number.isInteger(spec.rank) && spec.rank >= 1 && spec.rank <= MAX_RANK)) {
    invalid('bad_rank', `rank is ${spec.rank}; it must be an integer from 1 to ${MAX_RANK}.`, 'rank');
  }
  if (spec.clamp !== undefined && !(spec.clamp >= 0 && spec.clamp <= 1))
    invalid('bad_clamp', `clamp is ${spec.clamp}; it is a quantile and must be in [0, 1].`, 'clamp');
  const lambda = spec.lambda ?? 1;
  if (!Number.isFinite(lambda)) invalid('bad_lambda', `lambda is ${lambda}; it must be a finite number.`, 'lambda');

  const sites = sitesOf(members);
  const memberRanks = members.map((m) => Math.max(...m.adapter.modules.map((x) => x.rank)));
  const maxRank = Math.max(...memberRanks);
  const factorSpace = spec.method === 'linear' || (FACTOR_METHODS.includes(spec.method) && space === 'factors');
  if (factorSpace) checkFactorSpace(members, sites, weights, spec.method);

  let merged: Merged[];
  let uniformRank: number | null;
  let peftCombination: string;
  switch (spec.method) {
    case 'cat':
      uniformRank = memberRanks.reduce((s, r) => s + r, 0);
      merged = sites.map((site) => concat(site, weights));
      peftCombination = 'cat';
      break;
    case 'task_arithmetic':
      uniformRank = spec.rank ?? null;
      merged = await eachSite(sites, (site) => {
        const exact = concat(
          site,
          weights.map((w) => lambda * w),
        );
        return spec.rank === undefined ? exact : truncate(site, exact.b, exact.a, spec.rank);
      });
      peftCombination = spec.rank === undefined ? 'cat' : 'svd';
      break;
    case 'svd': {
      const rank = spec.rank ?? maxRank;
      uniformRank = rank;
      merged = await eachSite(sites, (site) => {
        const exact = concat(site, weights);
        return truncate(site, exact.b, exact.a, rank, spec.clamp);
      });
      peftCombination = 'svd';
      break;
    }
    default: {
      const how = combinerOf(spec);
      const rng = xoroshiro128plus(spec.seed ?? 0);
      if (factorSpace) {
        uniformRank = null;
        merged = sites.map((site) => factorMerge(site, weights, (tensors, w) => combine(how, tensors, w, density, rng)));
        peftCombination = how === 'sum' ? 'linear' : how;
      } else {
        const rank = spec.rank ?? maxRank;
        uniformRank = rank;
        merged = await denseDeltaMerge(
          sites,
          weights,
          rank,
          spec.seed ?? 0,
          () => combineRule(how as Exclude<Combiner, 'sum'>, density, rng), // 'sum' is linear's, always in factor space
          spec.clamp,
          how === 'ties'
            ? { combine: (factors, w) => tiesOf(factors, w, density, spec.seed ?? 0), done: giveBackRows, truncate: besideTiesThread }
            : undefined,
        );
        peftCombination = `${how}_svd`;
      }
    }
  }

  const largest = uniformRank ?? Math.max(...merged.map((m) => m.a.rows));
  if (largest > MAX_RANK) {
    invalid(
      'merged_rank_too_large',
      `${spec.method} of these adapters has rank ${largest} (the sum of their ranks), above the ${MAX_RANK} an adapter may have; use svd, or task_arithmetic with a rank.`,
      'adapters',
    );
  }
  const adapter = toAdapter(members, merged, uniformRank);
  const report: CollapsedReport = {
    method: spec.method,
    peftCombination,
    weights,
    rank: Math.max(...adapter.modules.map((m) => m.rank)),
    tasks: tasksOf(adapter, members),
  };
  return { adapter, report };
}

/**
 * The `cat` merge alone, for serving a request's mix: Σ wᵢ·ΔWᵢ exactly, each module at the sum of the ranks of the
 * members that have it (no padding to a uniform rank, no report: a row's slot pads as the batch needs).
 */
export function catMerge(members: Member[], weights: number[]): LoraAdapter {
  checkMembers(members);
  checkWeights(weights, members.length, 1);
  return toAdapter(
    members,
    sitesOf(members).map((site) => concat(site, weights)),
    null,
  );
}

/**
 * Whole deltas merged one module at a time: each member's ΔWᵢ formed dense (its scaling in it, once, as the
 * fixture's svd merge shows PEFT 0.21 does, so TIES elects signs on real deltas), combined, and the result
 * factored to `rank` by a truncated SVD. Within a module the members' deltas are formed one at a time and folded into
 * the rule (merge-ties-dare.ts), so only one member's delta and the rule's sums are dense at once; a large module's
 * are float32 from the runtime (member-delta.ts), as the SVD's products are. Where `onRuntimeCombine` is given and
 * the module is large, the rule runs there instead (TIES: ties-runtime.ts) and the deltas never reach JS.
 */
async function denseDeltaMerge(
  sites: Site[],
  weights: number[],
  rank: number,
  seed: number,
  combineDeltas: DeltaCombiner,
  clamp?: number,
  onRuntimeCombine?: RuntimeCombine,
): Promise<Merged[]> {
  const factorsOf = (site: Site) => site.parts.map((p) => deltaFactors(p.module));
  const weightsOf = (site: Site) => site.parts.map((p) => weights[p.member]);
  const large = (site: Site) =>
    onRuntimeCombine !== undefined &&
    onRuntime(site.parts[0].module.out, Math.max(...site.parts.map((p) => p.module.rank)), site.parts[0].module.in);
  const sizeOf = (site: Site) => site.parts[0].module.out * site.parts[0].module.in;
  // With a rule on the runtime (TIES, which draws nothing at random, so the order cannot change a value), the largest
  // modules first: a merged delta given back then fits every module after it, and the last SVD, which nothing
  // overlaps, is of a small module.
  const order = sites.map((_, i) => i);
  if (onRuntimeCombine) order.sort((x, y) => sizeOf(sites[y]) - sizeOf(sites[x]));
  // The next large module's rule is started before this one's SVD, so that where the rule runs off this thread
  // (TIES on the CPU: ties-offthread.ts) the two overlap; at most one module ahead, so two merged deltas at most.
  const ahead = new Map<number, Promise<F32Mat>>();
  const start = (j: number) => {
    if (j >= order.length || ahead.has(j) || !large(sites[order[j]]) || !onRuntimeCombine) return;
    const site = sites[order[j]];
    const combined = onRuntimeCombine.combine(factorsOf(site), weightsOf(site));
    combined.catch(() => {}); // awaited in its turn; an error before then must not go unhandled
    ahead.set(j, combined);
  };
  const merged: Merged[] = new Array(sites.length);
  for (let j = 0; j < order.length; j++) {
    const site = sites[order[j]];
    const { out, in: cols } = site.parts[0].module;
    if (large(site)) {
      start(j);
      start(j + 1);
      const combined = await ahead.get(j)!;
      ahead.delete(j);
      const svd = () => denseTruncate(site, combined, rank, seed, clamp);
      merged[order[j]] = await (onRuntimeCombine?.truncate ? onRuntimeCombine.truncate(svd) : svd());
      onRuntimeCombine?.done?.(combined);
      continue;
    }
    const delta = await foldMembers(combineDeltas({ rows: out, cols }), factorsOf(site), weightsOf(site));
    merged[order[j]] = await denseTruncate(site, { rows: out, cols, data: delta } as Mat | F32Mat, rank, seed, clamp);
  }
  return merged;
}

/** A module's rule run on the runtime over its members' factors, and what to do with its result once truncated. */
interface RuntimeCombine {
  combine(factors: { b: Mat; a: Mat }[], weights: number[]): Promise<F32Mat>;
  /** The merged delta is no longer read (TIES off the thread gives its buffer back for a later module's rows). */
  done?(merged: F32Mat): void;
  /** Runs a module's SVD (TIES off the thread: on fewer intra-op threads while the thread works). */
  truncate?<T>(svd: () => Promise<T>): Promise<T>;
}

/**
 * The members' deltas formed in turn into one buffer and folded into `rule` (which keeps none of them); the buffer is
 * out of reach once this returns, before the SVD's products need their memory.
 */
async function foldMembers(rule: DeltaRule, factors: { b: Mat; a: Mat }[], weights: number[]): Promise<Mat['data'] | Float32Array> {
  const { rows } = factors[0].b;
  const { cols } = factors[0].a;
  const buffer = onRuntime(rows, Math.max(...factors.map((f) => f.a.rows)), cols) ? new Float32Array(rows * cols) : undefined;
  for (let i = 0; i < factors.length; i++) rule.add(await memberDelta(factors[i], buffer), weights[i]);
  return rule.result();
}

/**
 * One module's merge rule over the members' dense deltas (row-major, `shape`), fed one member at a time with its
 * weight (merge-ties-dare.ts's DeltaRule).
 */
export type DeltaCombiner = (shape: { rows: number; cols: number }) => DeltaRule;

/**
 * A merge of whole deltas by any element-wise rule (mergekit's task-vector methods): weights default to 1 each,
 * the result has the largest member rank. What a dense-delta method file supplies is only `combineDeltas`.
 */
export async function mergeDeltas(
  members: Member[],
  opts: { weights?: number[]; rank?: number; seed?: number },
  combineDeltas: DeltaCombiner,
): Promise<{ adapter: LoraAdapter; report: { tasks: { name: string; relativeError: number }[]; rank: number } }> {
  checkMembers(members);
  const weights = checkWeights(opts.weights, members.length, 1);
  const sites = sitesOf(members);
  const rank = opts.rank ?? Math.max(...members.flatMap((m) => m.adapter.modules.map((x) => x.rank)));
  const adapter = toAdapter(members, await denseDeltaMerge(sites, weights, rank, opts.seed ?? 0, combineDeltas), rank);
  return {
    adapter,
    report: { rank, tasks: tasksOf(adapter, members) },
  };
}

/** Per member: ‖ΔW_merged − ΔWᵢ‖ / ‖ΔWᵢ‖ over all modules of either. */
function tasksOf(adapter: LoraAdapter, members: Member[]): { name: string; relativeError: number }[] {
  const errors = relativeErrors(
    adapter,
    members.map((m) => m.adapter),
  );
  return members.map((m, i) => ({ name: m.name, relativeError: errors[i] }));
}

function combinerOf(spec: CollapsedSpec): Combiner {
  if (spec.method === 'linear') return 'sum';
  if (spec.method === 'ties') return 'ties';
  return spec.electSign ? 'dare_ties' : 'dare_linear';
}

/** Every module any member targets, in model order, with the members that have it. */
function sitesOf(members: Member[]): Site[] {
  return alignModules(members).map(({ path, modules }) => ({
    path,
    parts: modules.flatMap((module, member) => (module ? [{ member, module }] : [])),
  }));
}

/**
 * PEFT merges lora_A and lora_B separately for linear/ties/dare: it stacks them, so every adapter needs the
 * same rank, and it scales each by √(weight·scaling), so weight·scaling must not be negative.
 */
function checkFactorSpace(members: Member[], sites: Site[], weights: number[], method: CollapsedMethod): void {
  const how = method === 'linear' ? 'linear' : `${method} with space "factors"`;
  const other = members.findIndex((m) => m.adapter.config.r !== members[0].adapter.config.r);
  if (other >= 0) {
    invalid(
      'rank_mismatch',
      `${how} merges lora_A and lora_B separately (PEFT: "All adapters must have the same r value"), but "${members[0].name}" has r=${members[0].adapter.config.r} and "${members[other].name}" r=${members[other].adapter.config.r}; merge adapters of one rank, or use cat, svd or task_arithmetic, which take any ranks.`,
      'adapters',
    );
  }
  for (const site of sites) {
    const first = site.parts[0];
    const other = site.parts.find((p) => p.module.rank !== first.module.rank);
    if (other) {
      invalid(
        'rank_mismatch',
        `${how} merges lora_A and lora_B separately (PEFT: "All adapters must have the same r value"), but "${members[first.member].name}" has rank ${first.module.rank} and "${members[other.member].name}" rank ${other.module.rank} at ${site.path}; merge adapters of one rank, or use cat, svd or task_arithmetic, which take any ranks.`,
        'adapters',
      );
    }
  }
  const negative = weights.findIndex((w) => w < 0);
  if (negative >= 0) {
    invalid(
      'bad_weights',
      `${how} scales both factors by √(weight·scaling), so weights must be ≥ 0; "${members[negative].name}" has ${weights[negative]}. Use task_arithmetic for negative weights.`,
      'weights',
    );
  }
}

/** PEFT's cat: lora_A rows wᵢ·sᵢ·Aᵢ stacked, lora_B columns Bᵢ side by side; ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ exactly. */
function concat(site: Site, weights: number[]): Merged {
  const first = site.parts[0].module;
  const rank = site.parts.reduce((s, p) => s + p.module.rank, 0);
  const b = zeros(first.out, rank);
  const a = zeros(rank, first.in);
  let at = 0;
  for (const { member, module: m } of site.parts) {
    const c = weights[member] * m.scale;
    for (let i = 0; i < m.rank * m.in; i++) a.data[at * m.in + i] = c * m.a[i];
    for (let o = 0; o < m.out; o++) for (let k = 0; k < m.rank; k++) b.data[o * rank + at + k] = m.b[o * m.rank + k];
    at += m.rank;
  }
  return { module: first, b, a };
}

/** One module after another (a module's products may run on the runtime; one at a time keeps memory flat). */
async function eachSite(sites: Site[], merge: (site: Site) => Merged | Promise<Merged>): Promise<Merged[]> {
  const merged: Merged[] = [];
  for (const site of sites) merged.push(await merge(site));
  return merged;
}

/**
 * The best rank-`rank` factors of b·a (exact SVD in the core space of the stacked factors, as PEFT's dense SVD
 * of the sum), zero-padded when b·a has lower rank. PEFT's clamp bounds U·S and Vᵀ by the `clamp` quantile of
 * their entries; it is the one step that sees the signs singular vectors happen to take, which differ between
 * SVD implementations.
 */
async function truncate(site: Site, b: Mat, a: Mat, rank: number, clamp?: number): Promise<Merged> {
  const svd = await svdOfFactors(b, a);
  return fromSvd(site, svd.u, svd.s, svd.v, rank, clamp);
}

/** The same for a dense merged delta: randomized SVD, exact to round-off when the delta's rank fits the sketch. */
async function denseTruncate(site: Site, delta: Mat | F32Mat, rank: number, seed: number, clamp?: number): Promise<Merged> {
  const k = Math.min(rank, delta.rows, delta.cols);
  const svd = await randomizedSvd(delta, k, { seed, powerIterations: 4 });
  return fromSvd(site, svd.u, svd.s, svd.v, rank, clamp);
}

function fromSvd(site: Site, u: Mat, s: Float64Array, v: Mat, rank: number, clamp?: number): Merged {
  const m = site.parts[0].module;
  const keep = Math.min(rank, s.length);
  const b = zeros(m.out, rank);
  const a = zeros(rank, m.in);
  for (let o = 0; o < m.out; o++) for (let k = 0; k < keep; k++) b.data[o * rank + k] = u.data[o * u.cols + k] * s[k];
  for (let k = 0; k < keep; k++) for (let i = 0; i < m.in; i++) a.data[k * m.in + i] = v.data[i * v.cols + k];
  if (clamp !== undefined) {
    const hi = quantile(Float64Array.from([...b.data, ...a.data]).sort(), clamp);
    for (const x of [b.data, a.data]) for (let i = 0; i < x.length; i++) x[i] = Math.min(Math.max(x[i], -hi), hi);
  }
  return { module: m, b, a };
}

/** torch.quantile's default (linear interpolation between the two nearest ranks) on sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * lora_A and lora_B merged separately by one combiner, each scaled by √(wᵢ·sᵢ) as PEFT does. For a plain
 * sum the delta is (Σ cᵢ·Bᵢ)(Σ cᵢ·Aᵢ), cross terms included: the "separate merging" that collapses.
 */
function factorMerge(site: Site, weights: number[], merge: (tensors: Float64Array[], weights: number[]) => Float64Array): Merged {
  const m = site.parts[0].module;
  const w = site.parts.map((p) => Math.sqrt(weights[p.member] * p.module.scale));
  const a = merge(
    site.parts.map((p) => Float64Array.from(p.module.a)),
    w,
  );
  const b = merge(
    site.parts.map((p) => Float64Array.from(p.module.b)),
    w,
  );
  return { module: m, b: fromArray(m.out, m.rank, b), a: fromArray(m.rank, m.in, a) };
}
