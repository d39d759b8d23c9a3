/**
 * SVDs the low-rank code needs beyond linalg.ts: a randomized SVD for large full matrices (a base weight, a
 * merged dense delta), and the spectrum of every module of an adapter, taken from its factors.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import type { Projection } from '../../contracts/formats/hf-config.ts';
import { type F32Mat, gemmF32, onRuntime } from './gemm-runner.ts';
import { type Mat, matmul, matmulNT, matmulTN, qr, type Svd, sliceCols, svd, svdOfProduct, zeros } from './linalg.ts';
import { deltaFactors } from './peft-adapter.ts';
import { basisTimes, spanBasis } from './span-basis.ts';
import { symEig } from './symmetric-eigen.ts';

export interface RandomizedSvdOptions {
  /** Extra sketch columns beyond k (Halko et al. suggest 5–10). */
  oversample?: number;
  /** Power iterations (a·aᵀ)^q: each sharpens a slowly decaying spectrum at the cost of two products. */
  powerIterations?: number;
  /** Seed of the Gaussian sketch, so that the same call gives the same factors. */
  seed?: number;
}

/** A matrix of independent standard normals, by Box–Muller on a seeded xoroshiro128+ stream. */
export function gaussian(rows: number, cols: number, seed: number): Mat {
  const rng = xoroshiro128plus(seed);
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i += 2) {
    const u = 1 - uniformFloat64(rng); // (0, 1]: log stays finite
    const v = uniformFloat64(rng);
    const r = Math.sqrt(-2 * Math.log(u));
    m.data[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < m.data.length) m.data[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return m;
}

/**
 * The top-k singular triplets of a (m×n) by randomized range finding (Halko, Martinsson, Tropp 2011, alg. 4.4
 * and 5.1): Q spans a·Ω for a Gaussian Ω of k + oversample columns, refined by power iterations with a QR after
 * every product (plain powers lose the small directions to round-off); then the small Qᵀ·a is decomposed
 * exactly. A float32 `a` (a merged dense delta) goes to the runtime as it is. Exact when rank(a) ≤ k + oversample; otherwise the error is near σ_{k+1}.
 */
export async function randomizedSvd(a: Mat | F32Mat, k: number, opts: RandomizedSvdOptions = {}): Promise<Svd> {
  const { oversample = 10, powerIterations = 2, seed = 0 } = opts;
  const limit = Math.min(a.rows, a.cols);
  if (!Number.isInteger(k) || k < 1 || k > limit) throw new Error(`randomizedSvd: k = ${k} for a ${a.rows}×${a.cols} matrix`);
  const width = Math.min(k + oversample, limit);
  // The products with a (m·n·width each) run on the runtime, in the form that never transposes a; so do the thin
  // sketches' orthonormalisations where they are large (orthonormal); the SVD of the small qᵀ·a stays in float64.
  const times = (x: Mat, form: 'nn' | 'nt') => gemmF32(a, x, form);
  const transposeTimes = (x: Mat, aFirst: boolean) => (aFirst ? gemmF32(a, x, 'tn') : gemmF32(x, a, 'tn'));
  let q = await orthonormal(await times(gaussian(width, a.cols, seed), 'nt')); // a·Ω, Ω drawn already transposed
  for (let i = 0; i < powerIterations; i++) {
    const z = await orthonormal(await transposeTimes(q, true)); // aᵀ·q
    q = await orthonormal(await times(z, 'nn')); // a·z
  }
  const small = svd(await transposeTimes(q, false)); // qᵀ·a: width × n
  return {
    u: sliceCols(matmul(q, small.u), 0, k),
    s: small.s.slice(0, k),
    v: sliceCols(small.v, 0, k),
  };
}

/**
 * An orthonormal basis of a thin sketch's columns (m×w). A tall one goes through CholeskyQR2 on the runtime's products
 * (span-basis.ts: its Gram and Q = y·map there, only a w×w pivoted Cholesky in float64), which replaced float64
 * Householder QRs that were an eighth of an 8B TIES layer's main-thread time; the runtime's float32 leaves Q
 * orthonormal to ~1e-6, the round-off of the products with a that surround it. A sketch whose span has lower rank
 * than w (a delta of lower rank than the sketch) takes the Householder QR, which completes the basis to w columns.
 */
async function orthonormal(y: Mat): Promise<Mat> {
  if (!onRuntime(y.rows, y.cols, y.cols)) return qr(y).q;
  const basis = await spanBasis(y, 'columns');
  return basis.map.cols === y.cols ? basisTimes(y, 'columns', basis.map) : qr(y).q;
}

/**
 * The SVD of b·a (b: m×N, a: N×n) in the core space of its factors: b = Qb·Rb and aᵀ = Qa·Ra (span-basis.ts), so
 * b·a = Qb·(Rb·Raᵀ)·Qaᵀ and only the small core Rb·Raᵀ is decomposed, in float64; the Grams and U = b·(mapB·U'),
 * V = aᵀ·(mapA·V') run on the runtime when large. Where a span has lower rank than N, fewer triplets come back.
 * The core goes through the eigenproblem of its Gram (coreSvd), so a singular vector u whose σ is below ~1e-8 of
 * the largest is not accurate, though u·σ (what a merge keeps, B = U·S) is.
 */
export async function svdOfFactors(b: Mat, a: Mat): Promise<Svd> {
  if (b.cols !== a.rows) throw new Error(`svdOfFactors: ${b.rows}×${b.cols} · ${a.rows}×${a.cols}`);
  const qb = await spanBasis(b, 'columns');
  const qa = await spanBasis(a, 'rows');
  const core = coreSvd(matmulNT(qb.r, qa.r));
  return { u: await basisTimes(b, 'columns', qb.map, core.u), s: core.s, v: await basisTimes(a, 'rows', qa.map, core.v) };
}

/**
 * The SVD of a small core k from the eigenproblem of kᵀk: V and σ² from the one symmetric eigensolver, U = k·V/σ.
 * Hand-written over linalg's one-sided Jacobi, whose sweeps over a 128×128 core were most of an svd merge's time.
 */
function coreSvd(k: Mat): Svd {
  const { values, vectors: v } = symEig(matmulTN(k, k));
  const s = values.map((x) => Math.sqrt(Math.max(x, 0)));
  const u = matmul(k, v);
  for (let j = 0; j < s.length; j++) {
    const inv = s[j] > 0 ? 1 / s[j] : 0;
    for (let i = 0; i < u.rows; i++) u.data[i * u.cols + j] *= inv;
  }
  return { u, s, v };
}

/** One module's singular values of ΔW = scale·B·A, descending (as many as the module's rank). */
export interface ModuleSpectrum {
  layer: number;
  projection: Projection;
  path: string;
  rank: number;
  out: number;
  in: number;
  s: Float64Array;
}

/** The spectrum of every module, through QR of its factors (ΔW is never formed). */
export function adapterSpectra(adapter: LoraAdapter): ModuleSpectrum[] {
  return adapter.modules.map((m) => {
    const f = deltaFactors(m);
    return { layer: m.layer, projection: m.projection, path: m.path, rank: m.rank, out: m.out, in: m.in, s: svdOfProduct(f.b, f.a).s };
  });
}

/** Σσ² of the singular values from index `from` on: the squared Frobenius norm that truncation there drops. */
export function tailEnergy(s: Float64Array, from = 0): number {
  let e = 0;
  for (let i = from; i < s.length; i++) e += s[i] * s[i];
  return e;
}
