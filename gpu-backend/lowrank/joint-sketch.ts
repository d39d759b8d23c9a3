/**
 * Joint compression's sketched fit, where the stacked rank is far above k (a seeded randomized subspace iteration
 * of k + OVERSAMPLE columns on the factor operators, instead of the core-space QR), run one module family at a
 * time: the modules of one shape across all layers, its members' factors stacked once in float32 ([L, n·rb, out] for the Bᵢᵀ, [L, n·rb, in] for the Aᵢ, each
 * member's block rb wide, the family's largest rank) so that each step is one batched run for every layer. Per
 * module the sketch took a few dozen runs and float64 JS products, and its first middles came from the whole N×N
 * Grams of the stacked factors when only their rb×rb diagonal blocks are read (N = 512 for 32 adapters of r 16:
 * 30 times the work). Those blocks, BᵢᵀBᵢ and AᵢAᵢᵀ, also give each adapter's ‖ΔWᵢ‖² = Σ (BᵢᵀBᵢ)∘(AᵢAᵢᵀ), so the
 * task weights come from the same runs. Only the w×w Cholesky factors and eigenproblems of the sketches
 * (w = k + 8) stay in float64 JS.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { PROJECTIONS } from '../../contracts/formats/hf-config.ts';
import { gemmStacked32 } from './gemm-runner.ts';
import { type Mat, matmul, matmulNT, sliceCols } from './linalg.ts';
import type { AlignedSite } from './module-alignment.ts';
import { gramFactor } from './gram-factor.ts';
import { symEig } from './symmetric-eigen.ts';

const TWO_TO_MINUS_32 = 2 ** -32;

/** Extra sketch columns beyond k (randomized SVD's oversampling). */
export const OVERSAMPLE = 8;

/** Sites of one shape (q and o, gate and up share one), in model order; each member's block is `rb` wide (its largest rank there). */
export interface SiteFamily {
  sites: AlignedSite[];
  out: number;
  in: number;
  rb: number;
}

/** Per site, [n, rb, rb] each: (scale·Bᵢ)ᵀ(scale·Bᵢ) and AᵢAᵢᵀ (zero for a member lacking the module). */
export interface BlockGrams {
  b: Float32Array;
  a: Float32Array;
}

export function siteFamilies(sites: AlignedSite[]): SiteFamily[] {
  const byShape = new Map<string, SiteFamily>();
  for (const site of sites) {
    const { out, in: fanIn } = site.first;
    const key = `${out}:${fanIn}`;
    const family = byShape.get(key) ?? { sites: [], out, in: fanIn, rb: 0 };
    byShape.set(key, family);
    family.sites.push(site);
    for (const m of site.modules) if (m) family.rb = Math.max(family.rb, m.rank);
  }
  return [...byShape.values()];
}

/** The diagonal blocks of the stacked factors' Grams, for every site of the family, in two runs. */
export async function blockGrams(family: SiteFamily): Promise<Map<AlignedSite, BlockGrams>> {
  const { sites, out, in: fanIn, rb } = family;
  const n = sites[0].modules.length;
  const batch = sites.length * n;
  const bs = new Float32Array(batch * out * rb);
  const as = new Float32Array(batch * rb * fanIn);
  sites.forEach((site, l) =>
    site.modules.forEach((m, i) => {
      if (!m) return;
      const at = l * n + i;
      if (m.rank === rb) bs.set(m.b, at * out * rb);
      else for (let o = 0; o < out; o++) bs.set(m.b.subarray(o * m.rank, (o + 1) * m.rank), (at * out + o) * rb);
      as.set(m.a, at * rb * fanIn);
    }),
  );
  const gb = await gemmStacked32(bs, bs, batch, rb, out, rb, 'tn');
  const ga = await gemmStacked32(as, as, batch, rb, fanIn, rb, 'nt');
  const grams = new Map<AlignedSite, BlockGrams>();
  sites.forEach((site, l) => {
    site.modules.forEach((m, i) => {
      if (!m) return;
      const block = gb.subarray((l * n + i) * rb * rb, (l * n + i + 1) * rb * rb);
      for (let e = 0; e < block.length; e++) block[e] *= m.scale * m.scale;
    });
    grams.set(site, { b: gb.subarray(l * n * rb * rb, (l + 1) * n * rb * rb), a: ga.subarray(l * n * rb * rb, (l + 1) * n * rb * rb) });
  });
  return grams;
}

/** Σ over modules of ‖ΔWᵢ‖² per member, from the block Grams. */
export function addSquaredNorms(norms: number[], grams: BlockGrams, rb: number): void {
  for (let i = 0; i < norms.length; i++) {
    let s = 0;
    for (let e = i * rb * rb; e < (i + 1) * rb * rb; e++) s += grams.b[e] * grams.a[e];
    norms[i] += Math.max(s, 0);
  }
}

/**
 * U (out×kk), V (in×kk) and the cores (n × kk², row i is Σᵢ) of every site of `family`, kk = min(k, out, in):
 * the randomized subspace iteration, every step batched over the family's layers.
 */
export async function fitSketchedFamily(
  family: SiteFamily,
  grams: Map<AlignedSite, BlockGrams>,
  weights: number[],
  k: number,
  iters: number,
): Promise<{ u: Mat; v: Mat; cores: Mat }[]> {
  const { sites, out, in: fanIn, rb } = family;
  const L = sites.length;
  const n = weights.length;
  const N = n * rb;
  const kk = Math.min(k, out, fanIn);
  const width = Math.min(kk + OVERSAMPLE, out, fanIn);
  // Bᵢᵀ (scaled) and Aᵢ as row blocks: the operators' products then transpose only the thin sketches.
  const fB = new Float32Array(L * N * out);
  const fA = new Float32Array(L * N * fanIn);
  sites.forEach((site, l) =>
    site.modules.forEach((m, i) => {
      if (!m) return;
      const r = m.rank;
      const base = (l * N + i * rb) * out;
      for (let o = 0; o < out; o++) for (let j = 0; j < r; j++) fB[base + j * out + o] = m.scale * m.b[o * r + j];
      fA.set(m.a, (l * N + i * rb) * fanIn);
    }),
  );
  const rngs = sites.map(({ first }) => xoroshiro128plus(first.layer * 16 + PROJECTIONS.indexOf(first.projection)));
  // [L, width, rows]: a seeded uniform(−½, ½) start per layer, transposed, its first kk rows `basis` ([L, kk, rows])
  // when widening a previous basis (only the oversampled columns are drawn then). One 32-bit draw per value: the
  // sketch needs no more, and these draws were a tenth of the fit.
  const start = (rows: number, basis?: Float32Array) => {
    const xt = new Float32Array(L * width * rows);
    const from = basis ? kk : 0;
    rngs.forEach((rng, l) => {
      if (basis) xt.set(basis.subarray(l * kk * rows, (l + 1) * kk * rows), l * width * rows);
      for (let i = (l * width + from) * rows; i < (l + 1) * width * rows; i++) xt[i] = rng.next() * TWO_TO_MINUS_32;
    });
    return xt;
  };
  const weigh = (mids: Float32Array) => {
    for (let l = 0; l < L; l++)
      for (let i = 0; i < n; i++) {
        const at = (l * n + i) * rb * rb;
        for (let e = 0; e < rb * rb; e++) mids[at + e] *= weights[i];
      }
    return mids;
  };
  const plainMids = (side: 'b' | 'a') => {
    const mids = new Float32Array(L * n * rb * rb);
    sites.forEach((site, l) => mids.set(grams.get(site)![side], l * n * rb * rb));
    return weigh(mids);
  };
  // Mᵢ = (AᵢV)(AᵢV)ᵀ for the left side from V, or (BᵢᵀU)(BᵢᵀU)ᵀ for the right side from U, weighted.
  const projectedMids = async (f: Float32Array, rows: number, basis: Float32Array) => {
    const inner = await gemmStacked32(f, basis, L, N, rows, kk, 'nt');
    return weigh(await gemmStacked32(inner, inner, L * n, rb, kk, rb, 'nt'));
  };
  // Σ wᵢ·Fᵢᵀ·Mᵢ·Fᵢ·X for X given transposed ([L, width, rows]), also returned transposed.
  const apply = async (f: Float32Array, rows: number, mids: Float32Array, xt: Float32Array) => {
    const z = await gemmStacked32(f, xt, L, N, rows, width, 'nt');
    const s = await gemmStacked32(mids, z, L * n, rb, rb, width);
    return gemmStacked32(s, f, L, width, N, rows, 'tn');
  };
  // CholeskyQR2 of each layer's sketch (its w×w Gram's pivoted Cholesky in JS): Qᵀ with zero rows past the
  // sketch's numerical rank, and R (q×width).
  const orth = async (xt: Float32Array, rows: number) => {
    let qt = xt;
    let rs: Mat[] = [];
    for (let pass = 0; pass < 2; pass++) {
      const g = await gemmStacked32(qt, qt, L, width, rows, width, 'nt');
      const mapT = new Float32Array(L * width * width);
      const passR: Mat[] = [];
      for (let l = 0; l < L; l++) {
        const gram = { rows: width, cols: width, data: Float64Array.from(g.subarray(l * width * width, (l + 1) * width * width)) };
        const { map, r } = gramFactor(gram, 1e-6);
        for (let a = 0; a < width; a++) for (let c = 0; c < map.cols; c++) mapT[(l * width + c) * width + a] = map.data[a * map.cols + c];
        passR.push(r);
      }
      qt = await gemmStacked32(mapT, qt, L, width, width, rows);
      rs = pass === 0 ? passR : passR.map((r2, l) => matmul(sliceCols(r2, 0, rs[l].rows), rs[l]));
    }
    return { qt, rs };
  };
  // The top-kk basis ([L, kk, rows]) after `steps` applications: the last image's top left singular vectors.
  // The start goes in as it is: an application depends only on its span, which an orthonormalisation keeps.
  const top = async (f: Float32Array, rows: number, mids: Float32Array, xt: Float32Array, steps: number) => {
    let q = xt;
    for (let s = 1; s < steps; s++) q = (await orth(await apply(f, rows, mids, q), rows)).qt;
    const z = await orth(await apply(f, rows, mids, q), rows);
    const leadT = new Float32Array(L * kk * width);
    z.rs.forEach((r, l) => {
      if (r.rows === 0) return; // an all-zero family member: its basis stays zero
      // R's left singular vectors, as the eigenvectors of the q×q R·Rᵀ (descending).
      const u = symEig(matmulNT(r, r)).vectors;
      for (let a = 0; a < u.rows; a++)
        for (let c = 0; c < Math.min(kk, u.cols); c++) leadT[(l * kk + c) * width + a] = u.data[a * u.cols + c];
    });
    return gemmStacked32(leadT, z.qt, L, kk, width, rows);
  };
  let ut = await top(fB, out, plainMids('a'), start(out), 2);
  let vt = await top(fA, fanIn, plainMids('b'), start(fanIn), 2);
  for (let it = 0; it < iters; it++) {
    vt = await top(fA, fanIn, await projectedMids(fB, out, ut), start(fanIn, vt), 1);
    ut = await top(fB, out, await projectedMids(fA, fanIn, vt), start(out, ut), 1);
  }
  // Σᵢ = (UᵀBᵢ)(AᵢV) = (BᵢᵀU)ᵀ(AᵢV), per block.
  const p = await gemmStacked32(fB, ut, L, N, out, kk, 'nt');
  const q = await gemmStacked32(fA, vt, L, N, fanIn, kk, 'nt');
  const cores = await gemmStacked32(p, q, L * n, kk, rb, kk, 'tn');
  return sites.map((_, l) => ({
    u: untranspose(ut.subarray(l * kk * out, (l + 1) * kk * out), kk, out),
    v: untranspose(vt.subarray(l * kk * fanIn, (l + 1) * kk * fanIn), kk, fanIn),
    cores: { rows: n, cols: kk * kk, data: Float64Array.from(cores.subarray(l * n * kk * kk, (l + 1) * n * kk * kk)) },
  }));
}

/** A [k, rows] float32 block as the rows×k float64 matrix it is the transpose of. */
function untranspose(t: Float32Array, k: number, rows: number): Mat {
  const data = new Float64Array(rows * k);
  for (let j = 0; j < k; j++) for (let row = 0; row < rows; row++) data[row * k + j] = t[j * rows + row];
  return { rows, cols: k, data };
}
