/**
 * TIES of one module's whole deltas on the runtime, in float32 (ties-graphs.ts), a block of rows at a time so
 * that only a few MB of the n dense deltas exist at once; the result is the merged delta (out×in, float32).
 *
 * The trim keeps exactly k = ⌊density·N⌋ entries per member, as torch.topk does: the k-th largest magnitude is
 * found exactly in two steps. A seeded sample of entries (computed from the factors) brackets it; one pass of
 * the `stats` graph counts the magnitudes above the bracket and returns those inside it, and the k-th is
 * selected among those in JS. A bracket that misses is widened and the pass repeated.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { f32, type ort } from '../engine/runtime.ts';
import { type F32Mat, gemmCounters } from './gemm-runner.ts';
import { select } from './quickselect.ts';
import type { Mat } from './linalg.ts';
import { tiesCombineSession, tiesStatsSession } from './ties-graphs.ts';

/** Values of the n stacked deltas per run: 4 MB per intermediate (of 1–64 MB, this ran fastest on 2 cores). */
const BLOCK_VALUES = 1 << 20;
/** Sampled entries per member that bracket its threshold (the bracket holds ~12/√SAMPLE of the entries). */
const SAMPLE = 1 << 16;

interface Stacked {
  n: number;
  rows: number;
  cols: number;
  rank: number;
  b: Float32Array; // [n, rows, rank], each member's b zero-padded to the largest rank
  a: Float32Array; // [n, rank, cols]
}

function stack(factors: { b: Mat; a: Mat }[]): Stacked {
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

type Session = Awaited<ReturnType<typeof tiesStatsSession>>;
type Outputs = Awaited<ReturnType<Session['run']>>;
interface BlockFeeds {
  session: Session;
  perMember: Record<string, Float32Array>;
  other?: Record<string, ort.Tensor>;
}

/**
 * Runs one graph per block of rows: `feeds` gives the block's session and its per-member [n] inputs (and any
 * other feed), `each` gets its outputs.
 */
async function overBlocks(
  s: Stacked,
  feeds: (row: number, rows: number) => Promise<BlockFeeds>,
  each: (out: Outputs, row: number, rows: number) => void,
): Promise<void> {
  const { n, rows, cols, rank } = s;
  const per = Math.max(1, Math.floor(BLOCK_VALUES / (n * cols)));
  const a = f32(s.a, [n, rank, cols]);
  for (let row = 0; row < rows; row += per) {
    const h = Math.min(per, rows - row);
    const b = new Float32Array(n * h * rank);
    for (let i = 0; i < n; i++) b.set(s.b.subarray((i * rows + row) * rank, (i * rows + row + h) * rank), i * h * rank);
    const { session, perMember, other } = await feeds(row, h);
    const extra = Object.fromEntries(Object.entries(perMember).map(([k, v]) => [k, f32(v, [n, 1, 1])]));
    gemmCounters.runtimeMacs += n * h * rank * cols;
    each(await session.run({ b: f32(b, [n, h, rank]), a, ...extra, ...other }), row, h);
  }
}

/** The magnitude of member i's entry at flat index j of its delta, from the (float32) factors. */
function entry(s: Stacked, i: number, j: number): number {
  const o = Math.floor(j / s.cols);
  const c = j - o * s.cols;
  let d = 0;
  for (let t = 0; t < s.rank; t++) d += s.b[(i * s.rows + o) * s.rank + t] * s.a[(i * s.rank + t) * s.cols + c];
  return Math.abs(d);
}

/** [lo, hi] around the k-th largest magnitude of each member, from a seeded sample of its entries. */
function brackets(s: Stacked, k: number, seed: number, sample: number): { lo: Float32Array; hi: Float32Array } {
  const size = s.rows * s.cols;
  const count = Math.min(sample, size);
  const p = (size - k) / size; // the threshold's position among the magnitudes, ascending
  const spread = 6 * Math.sqrt((p * (1 - p)) / count) + 2 / count;
  const lo = new Float32Array(s.n);
  const hi = new Float32Array(s.n);
  const rng = xoroshiro128plus(seed);
  const drawn = new Float64Array(count);
  for (let i = 0; i < s.n; i++) {
    for (let j = 0; j < count; j++) drawn[j] = entry(s, i, Math.floor(uniformFloat64(rng) * size));
    const at = (q: number) => select(drawn, Math.min(count - 1, Math.max(0, Math.floor(q * count))));
    lo[i] = p - spread <= 0 ? 0 : at(p - spread);
    hi[i] = p + spread >= 1 ? Number.POSITIVE_INFINITY : at(p + spread);
  }
  return { lo, hi };
}

/** Per member: the k-th largest magnitude, and the flat position of the first entry at it that is not kept. */
interface Trim {
  threshold: Float32Array;
  cut: Float64Array;
}

/** Each member's exact k-th largest magnitude (float32) and, among entries tied at it, where keeping stops. */
async function trimOf(s: Stacked, k: number, seed: number, sample: number): Promise<Trim> {
  let { lo, hi } = brackets(s, k, seed, sample);
  const session = await tiesStatsSession();
  for (;;) {
    const above = new Float64Array(s.n);
    const values: Float32Array[][] = Array.from({ length: s.n }, () => []);
    const positions: Float64Array[][] = Array.from({ length: s.n }, () => []);
    await overBlocks(
      s,
      async (): Promise<BlockFeeds> => ({ session, perMember: { lo, hi } }),
      (out, row) => {
        const up = out.above.data as Int32Array;
        const where = out.where.data as Int32Array;
        const inside = out.values.data as Float32Array;
        const count = inside.length;
        for (let i = 0; i < s.n; i++) above[i] += up[i];
        // NonZero lists the members in order: split at each change of member.
        for (let from = 0; from < count; ) {
          const member = where[from];
          let to = from;
          while (to < count && where[to] === member) to++;
          values[member].push(inside.slice(from, to));
          const at = new Float64Array(to - from);
          for (let j = from; j < to; j++) at[j - from] = (row + where[count + j]) * s.cols + where[2 * count + j];
          positions[member].push(at);
          from = to;
        }
      },
    );
    const inside = values.map(concat);
    const missed = Array.from({ length: s.n }, (_, i) => above[i] >= k || above[i] + inside[i].length < k);
    if (!missed.some(Boolean)) return exactTrim(k, above, inside, positions.map(concat64));
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
function exactTrim(k: number, above: Float64Array, inside: Float32Array[], positions: Float64Array[]): Trim {
  const threshold = new Float32Array(above.length);
  const cut = new Float64Array(above.length);
  for (let i = 0; i < above.length; i++) {
    const values = inside[i];
    const t = select(values.slice(), values.length - (k - above[i]));
    let greater = above[i];
    const tied: number[] = [];
    values.forEach((v, j) => {
      if (v > t) greater++;
      else if (v === t) tied.push(positions[i][j]);
    });
    tied.sort((x, y) => x - y);
    threshold[i] = t;
    cut[i] = k - greater < tied.length ? tied[k - greater] : Number.POSITIVE_INFINITY;
  }
  return { threshold, cut };
}

const total = (parts: Float32Array[]) => parts.reduce((s, p) => s + p.length, 0);

function concat64(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(total(parts));
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
 * to exactly ⌊density·N⌋ entries by magnitude, elect signs, disjoint weighted mean. `sample`: entries sampled per
 * member for the bracket (tests make it tiny so that brackets miss).
 */
export async function tiesOnRuntime(
  factors: { b: Mat; a: Mat }[],
  weights: number[],
  density: number,
  seed: number,
  sample = SAMPLE,
): Promise<F32Mat> {
  const s = stack(factors);
  const size = s.rows * s.cols;
  const k = Math.floor(density * size);
  const keepAll = (t: number): Trim => ({ threshold: new Float32Array(s.n).fill(t), cut: new Float64Array(s.n).fill(Infinity) });
  const { threshold, cut } = density >= 1 ? keepAll(-1) : k === 0 ? keepAll(Infinity) : await trimOf(s, k, seed, sample);
  const weight = Float32Array.from(weights);
  const plain = await tiesCombineSession(false);
  const merged = new Float32Array(size);
  let plane: Float32Array | null = null;
  await overBlocks(
    s,
    async (row, h): Promise<BlockFeeds> => {
      const [start, end] = [row * s.cols, (row + h) * s.cols];
      if (cut.every((c) => c < start || c >= end)) {
        // Entries at the threshold: all kept before a member's cut, none after it.
        const t = threshold.map((x, i) => (cut[i] < start ? nextUp(x) : x));
        return { session: plain, perMember: { threshold: t, weight } };
      }
      if (!plane || plane.length !== h * s.cols) plane = Float32Array.from({ length: h * s.cols }, (_, j) => j);
      const within = Float32Array.from(cut, (c) => Math.min(Math.max(c - start, -1), end - start));
      return {
        session: await tiesCombineSession(true),
        perMember: { threshold, weight, cut: within },
        other: { position: f32(plane, [1, h, s.cols]) },
      };
    },
    (out, row, h) => merged.set((out.merged.data as Float32Array).subarray(0, h * s.cols), row * s.cols),
  );
  return { rows: s.rows, cols: s.cols, data: merged };
}
