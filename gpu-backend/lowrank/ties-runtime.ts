/**
 * TIES of one module's whole deltas in float32, a block of rows at a time so that only a few MB of the n dense
 * deltas exist at once (ties-passes.ts: the runtime forms them, SIMD kernels on the CPU or the runtime's graphs on a
 * GPU host do the element-wise work); the result is the merged delta (out×in, float32).
 *
 * The trim keeps exactly k = ⌊density·N⌋ entries per member, as torch.topk does: the k-th largest magnitude is
 * found exactly in two steps. A seeded sample of entries (computed from the factors) brackets it; one `stats`
 * pass counts the magnitudes above the bracket and returns those inside it, and the k-th is selected among those
 * in JS. A bracket that misses is widened and the pass repeated.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { F32Mat } from './gemm-runner.ts';
import type { Mat } from './linalg.ts';
import { select, selectMagnitude } from './quickselect.ts';
import { defaultPassSide, type OnePass, type Stacked, type TiesPasses, type TiesPassSide, tiesPasses } from './ties-passes.ts';

/**
 * The bracket's half-width in standard deviations of the sample quantile. 4.5 misses with probability ~7e-6 per
 * member and module (then that module takes two passes); against 6 it took 9% less CPU on an 8B MLP module, as fewer
 * values are unsure.
 */
const SIGMAS = 4.5;
/**
 * Sampled entries per member that bracket its threshold (at density 0.5 a bracket holds ~4.5/√SAMPLE of the
 * entries, 0.9%). Drawing them cost ~0.1 µs each in JS (about half with a transposed and four sums); fewer unsure values save more: against 2¹⁶, 2¹⁸ took 17% less
 * CPU on two 8B modules (gate and q), 2¹⁹ no less.
 */
const SAMPLE = 1 << 18;

export function stack(factors: { b: Mat; a: Mat }[]): Stacked {
  const n = factors.length;
  const { rows } = factors[0].b;
  const { cols } = factors[0].a;
  const rank = Math.max(...factors.map((f) => f.a.rows));
  const b = new Float32Array(n * rows * rank);
  const a = new Float32Array(n * rank * cols);
  factors.forEach((f, i) => {
    const r = f.a.rows;
    for (let o = 0; o < rows; o++) for (let t = 0; t < r; t++) b[(i * rows + o) * rank + t] = f.b.data[o * r + t];
    a.set(f.a.data, i * rank * cols);
  });
  return { n, rows, cols, rank, b, a };
}

/** Runs `each` over the module's blocks of rows, in order. */
async function overBlocks(s: Stacked, passes: TiesPasses, each: (row: number, h: number) => Promise<void>): Promise<void> {
  for (let row = 0; row < s.rows; row += passes.rowsPerBlock) await each(row, Math.min(passes.rowsPerBlock, s.rows - row));
}

/** How the brackets are drawn: entries sampled per member, and the bracket's half-width in standard deviations. */
export interface BracketOptions {
  sample?: number;
  sigmas?: number;
}

export interface Brackets {
  lo: Float32Array;
  hi: Float32Array;
  /** The share of a member's entries expected inside its bracket. */
  share: number;
}

/** [lo, hi] around the k-th largest magnitude of each member, from a seeded sample of its entries. */
export function brackets(s: Stacked, k: number, seed: number, { sample = SAMPLE, sigmas = SIGMAS }: BracketOptions): Brackets {
  const { n, rows, cols, rank } = s;
  const size = rows * cols;
  const count = Math.min(sample, size);
  const p = (size - k) / size; // the threshold's position among the magnitudes, ascending
  const spread = sigmas * Math.sqrt((p * (1 - p)) / count) + 2 / count;
  const lo = new Float32Array(n);
  const hi = new Float32Array(n);
  const rng = xoroshiro128plus(seed);
  const drawn = new Float64Array(count);
  // Each sampled entry is a dot product of a row of b with a column of a: with a transposed, both are one cache line
  // (at rank 16), where a's column was rank lines apart; with four sums it took half the CPU of one sum on a's columns.
  const aT = new Float32Array(cols * rank);
  const at = (q: number) => Math.min(count - 1, Math.max(0, Math.floor(q * count)));
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < rank; t++) for (let c = 0; c < cols; c++) aT[c * rank + t] = s.a[(i * rank + t) * cols + c];
    const b = s.b;
    for (let j = 0; j < count; j++) {
      const e = Math.floor(uniformFloat64(rng) * size);
      const o = Math.floor(e / cols);
      const bo = (i * rows + o) * rank;
      const ac = (e - o * cols) * rank;
      // Four sums, so that the adds of one dot product do not wait on each other.
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      let t = 0;
      for (; t + 4 <= rank; t += 4) {
        d0 += b[bo + t] * aT[ac + t];
        d1 += b[bo + t + 1] * aT[ac + t + 1];
        d2 += b[bo + t + 2] * aT[ac + t + 2];
        d3 += b[bo + t + 3] * aT[ac + t + 3];
      }
      for (; t < rank; t++) d0 += b[bo + t] * aT[ac + t];
      drawn[j] = Math.abs(d0 + d1 + (d2 + d3));
    }
    // After the select for hi, the entries below its index are the smaller ones: lo is selected among them.
    const top = p + spread >= 1 ? count : at(p + spread);
    hi[i] = top === count ? Number.POSITIVE_INFINITY : select(drawn, top);
    lo[i] = p - spread <= 0 ? 0 : select(drawn.subarray(0, Math.min(count, top + 1)), at(p - spread));
  }
  return { lo, hi, share: Math.min(1, 2 * spread) };
}

/** Per member: the k-th largest magnitude, and the flat position of the first entry at it that is not kept. */
export interface Trim {
  threshold: Float32Array;
  cut: Float64Array;
}

/**
 * The first phase of TIES' one pass over a module: values outside the brackets are merged into `merged` (row-major)
 * as the pass goes; a position
 * where some member's value lies inside its bracket keeps the sums of its sure values in the kernels' memory until
 * `finishOnePass`. Returns each member's count above its bracket and its unsure entries (views), or null where a
 * member's unsure entries outgrew their room (a bracket holding twice what it should is off: take two passes).
 */
async function onePassRows(
  s: Stacked,
  onePass: OnePass,
  rowsPerBlock: number,
  weight: Float32Array,
  { lo, hi, share }: Brackets,
  merged: Float32Array,
): Promise<ReturnType<OnePass['unsure']> | null> {
  const { rows, cols } = s;
  const size = rows * cols;
  // Room for twice the entries a bracket is expected to hold, and a block more: a bracket holding more is off anyway.
  onePass.start(Math.min(size, Math.ceil(2 * share * size) + rowsPerBlock * cols));
  for (let row = 0; row < rows; row += rowsPerBlock) {
    const block = await onePass.block(row, Math.min(rowsPerBlock, rows - row), lo, hi, weight);
    if (!block) return null;
    merged.set(block, row * cols);
  }
  return onePass.unsure();
}

/**
 * The second phase: the unsure positions finished at the exact thresholds, into `merged`.
 */
function finishOnePass(onePass: OnePass, { threshold, cut }: Trim, weight: Float32Array, merged: Float32Array): void {
  const finished = onePass.finish(threshold, cut, weight);
  for (let r = 0; r < 6 * finished.count; r += 6) merged[finished.positions[r]] = finished.values[r + 1];
}

/** Whether every member's k-th magnitude lies in its bracket, from the count above it and the entries inside. */
const bracketsHold = (k: number, above: ArrayLike<number>, inside: { length: number }[]): boolean =>
  inside.every((x, i) => above[i] < k && above[i] + x.length >= k);

/**
 * TIES in one pass over the deltas where every member's bracket holds (the usual case); null where a bracket missed
 * or a member's unsure entries outgrew their room (the caller then takes two passes, widening the brackets as needed).
 * `into`: a buffer of at least rows·cols values to write the merged delta into (its first rows·cols), else a new one.
 */
export async function tiesOnePass(
  s: Stacked,
  onePass: OnePass,
  rowsPerBlock: number,
  k: number,
  weight: Float32Array,
  drawn: Brackets,
  into?: Float32Array,
): Promise<Float32Array | null> {
  // Every position is written (the blocks' rows, then the unsure ones), so a lent buffer needs no zeroing.
  const merged = into ? into.subarray(0, s.rows * s.cols) : new Float32Array(s.rows * s.cols);
  const unsure = await onePassRows(s, onePass, rowsPerBlock, weight, drawn, merged);
  if (
    !unsure ||
    !bracketsHold(
      k,
      unsure.above,
      unsure.lists.map((l) => l.values),
    )
  )
    return null;
  const trim = exactTrim(
    k,
    unsure.above,
    unsure.lists.map(({ values }) => values),
    unsure.lists.map(({ positions }) => positions),
  );
  finishOnePass(onePass, trim, weight, merged);
  return merged;
}

async function trimOf(s: Stacked, passes: TiesPasses, k: number, drawn: Brackets): Promise<Trim> {
  let { lo, hi } = drawn;
  for (;;) {
    const above = new Float64Array(s.n);
    const values: Float32Array[][] = Array.from({ length: s.n }, () => []);
    const positions: Int32Array[][] = Array.from({ length: s.n }, () => []);
    await overBlocks(s, passes, async (row, h) => {
      const block = await passes.stats(row, h, lo, hi);
      for (let i = 0; i < s.n; i++) {
        above[i] += block.above[i];
        const [from, to] = [i === 0 ? 0 : block.ends[i - 1], block.ends[i]];
        if (to === from) continue;
        values[i].push(block.values.slice(from, to));
        positions[i].push(block.positions.slice(from, to));
      }
    });
    const inside = values.map((v) => concat(v));
    const missed = Array.from({ length: s.n }, (_, i) => above[i] >= k || above[i] + inside[i].length < k);
    if (!missed.some(Boolean))
      return exactTrim(
        k,
        above,
        inside,
        positions.map((p) => concat(p)),
      );
    // Widen each missed bracket to the side the k-th lies on, (hi, ∞) or [0, lo]; every pass counts afresh.
    const aboveBracket = (i: number) => missed[i] && above[i] >= k;
    const belowBracket = (i: number) => missed[i] && above[i] < k;
    const [wasLo, wasHi] = [lo, hi];
    lo = wasLo.map((l, i) => (aboveBracket(i) ? wasHi[i] : belowBracket(i) ? 0 : l));
    hi = wasHi.map((h, i) => (aboveBracket(i) ? Number.POSITIVE_INFINITY : belowBracket(i) ? wasLo[i] : h));
  }
}

/**
 * The k-th largest magnitude from the count above the bracket and the values inside it; entries equal to it are
 * kept in row-major order until k are kept (torch leaves the order of ties unspecified; this one is repeatable).
 */
function exactTrim(k: number, above: Float64Array, inside: Float32Array[], positions: Int32Array[]): Trim {
  const threshold = new Float32Array(above.length);
  const cut = new Float64Array(above.length);
  for (let i = 0; i < above.length; i++) {
    // The lists hold signed values (the one pass) or magnitudes (stats): compared by their bits without the sign.
    const bits = new Int32Array(inside[i].buffer, inside[i].byteOffset, inside[i].length);
    const t = selectMagnitude(inside[i], bits.length - (k - above[i]));
    const tBits = new Int32Array(Float32Array.of(t).buffer)[0];
    let greater = above[i];
    for (let j = 0; j < bits.length; j++) if ((bits[j] & 0x7fffffff) > tBits) greater++;
    // The entries tied at t are in position order (blocks come in row order): the cut is the first not kept.
    let tied = 0;
    cut[i] = Number.POSITIVE_INFINITY;
    for (let j = 0; j < bits.length && cut[i] === Number.POSITIVE_INFINITY; j++)
      if ((bits[j] & 0x7fffffff) === tBits && tied++ === k - greater) cut[i] = positions[i][j];
    threshold[i] = t;
  }
  return { threshold, cut };
}

function concat(parts: Float32Array[]): Float32Array;
function concat(parts: Int32Array[]): Int32Array;
function concat(parts: (Float32Array | Int32Array)[]): Float32Array | Int32Array {
  if (parts.length === 1) return parts[0];
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = parts[0] instanceof Int32Array ? new Int32Array(length) : new Float32Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The next float32 above a non-negative finite x: a threshold that keeps only what is strictly above x. */
function nextUp(x: number): number {
  const bits = new Uint32Array(Float32Array.of(x).buffer);
  bits[0]++;
  return new Float32Array(bits.buffer)[0];
}

/**
 * TIES of one module's members (b already scaled, as deltaFactors gives it) with their weights: trim each delta
 * to exactly ⌊density·N⌋ entries by magnitude, elect signs, disjoint weighted mean. `opts`: how brackets are drawn
 * (tests make them miss) and where the element-wise passes run (tests run both sides).
 */
export async function tiesOnRuntime(
  factors: { b: Mat; a: Mat }[],
  weights: number[],
  density: number,
  seed: number,
  opts: BracketOptions & { side?: TiesPassSide } = {},
): Promise<F32Mat> {
  const plan = planTies(factors, weights, density, seed, opts);
  const passes = await tiesPasses(plan.s, opts.side ?? defaultPassSide());
  try {
    return await tiesPassesOver(plan, passes, density);
  } finally {
    passes.done();
  }
}

async function tiesPassesOver({ s, k, weight, drawn, onePass }: TiesPlan, passes: TiesPasses, density: number): Promise<F32Mat> {
  const size = s.rows * s.cols;
  const keepAll = (t: number): Trim => ({ threshold: new Float32Array(s.n).fill(t), cut: new Float64Array(s.n).fill(Infinity) });
  if (passes.onePass && drawn && onePass) {
    const merged = await tiesOnePass(s, passes.onePass, passes.rowsPerBlock, k, weight, drawn);
    if (merged) return { rows: s.rows, cols: s.cols, data: merged };
  }
  const { threshold, cut } = !drawn ? keepAll(density >= 1 ? -1 : Number.POSITIVE_INFINITY) : await trimOf(s, passes, k, drawn);
  const thresholdUp = threshold.map(nextUp);
  const merged = new Float32Array(size);
  await overBlocks(s, passes, async (row, h) => {
    const [start, p] = [row * s.cols, h * s.cols];
    // Entries at the threshold: all kept before a member's cut, none from it on.
    const within = Int32Array.from(cut, (c) => Math.min(Math.max(c - start, 0), p));
    merged.set((await passes.combine(row, h, threshold, thresholdUp, within, weight)).subarray(0, p), start);
  });
  return { rows: s.rows, cols: s.cols, data: merged };
}

/** A module's TIES before any pass: its stacked factors, k, the weights, the brackets, and whether one pass fits. */
export interface TiesPlan {
  s: Stacked;
  k: number;
  weight: Float32Array;
  /** null where nothing or everything is kept (density 1, or k = 0): no threshold to find. */
  drawn: Brackets | null;
  onePass: boolean;
}

export function planTies(
  factors: { b: Mat; a: Mat }[],
  weights: number[],
  density: number,
  seed: number,
  opts: BracketOptions = {},
): TiesPlan {
  const s = stack(factors);
  const k = Math.floor(density * s.rows * s.cols);
  const drawn = density < 1 && k > 0 ? brackets(s, k, seed, opts) : null;
  // One pass keeps a record of 24 bytes per position with an unsure value: take it while those records stay within
  // twice the merged delta's bytes (a third of the positions; with brackets of 0.9%, up to 45 members).
  const onePass = drawn !== null && 1 - (1 - drawn.share) ** s.n <= 1 / 3;
  return { s, k, weight: Float32Array.from(weights), drawn, onePass };
}
