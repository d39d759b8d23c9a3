/**
 * eigen-kernels.wat (symmetric-eigen.ts's solver, WebAssembly SIMD) compiled once per thread by wabt, with the
 * memory it works in. Loading is asynchronous (wabt's compiler starts so); a solve before it is done runs the
 * JavaScript solver, which gives bitwise the same results, so only the speed depends on it.
 */
import { growTo, type KernelMemory, loadOnce } from './wat-module.ts';

interface Exports {
  memory: KernelMemory;
  takeNonFinite(): number;
  symv(v: number, n: number, i: number, d: number, e: number): void;
  rank2(v: number, n: number, i: number, d: number, e: number): void;
  accumulate(v: number, n: number, i: number, d: number): void;
  rotate(v: number, n: number, lo: number, hi: number, c: number, s: number): void;
  eigenRows(v: number, n: number, d: number, e: number, c: number, s: number): void;
  fitPositions(
    count: number,
    n: number,
    r: number,
    p: number,
    x: number,
    mu: number,
    basis: number,
    coef: number,
    g: number,
    d: number,
    e: number,
    c: number,
    s: number,
    pair: number,
  ): void;
  gather(
    src: number,
    rank: number,
    posStride: number,
    kStride: number,
    scale: number,
    from: number,
    count: number,
    x: number,
    stride: number,
  ): void;
}

/** The kernels and one workspace: an n×n matrix at byte 0, then d, e, c, s (n each). */
export class EigenKernels {
  private n = -1;
  v!: Float64Array;
  d!: Float64Array;
  e!: Float64Array;
  c!: Float64Array;
  s!: Float64Array;
  readonly at = { d: 0, e: 0, c: 0, s: 0 };

  constructor(readonly k: Exports) {}

  /** Lays the workspace out for order n (views valid until the next call with another n). */
  workspace(n: number): this {
    if (n === this.n && this.v.buffer === this.k.memory.buffer) return this;
    const bytes = 8 * (n * n + 4 * n);
    growTo(this.k.memory, bytes);
    const buffer = this.k.memory.buffer;
    this.n = n;
    this.at.d = 8 * n * n;
    this.at.e = this.at.d + 8 * n;
    this.at.c = this.at.e + 8 * n;
    this.at.s = this.at.c + 8 * n;
    this.v = new Float64Array(buffer, 0, n * n);
    this.d = new Float64Array(buffer, this.at.d, n);
    this.e = new Float64Array(buffer, this.at.e, n);
    this.c = new Float64Array(buffer, this.at.c, n);
    this.s = new Float64Array(buffer, this.at.s, n);
    return this;
  }

  /**
   * Lays memory out for reversible-factor.ts's per-position fit (n ≤ r, p < n) of a factor's `positions`
   * positions, `batch` at a time: returns the view the caller writes a batch's X into (valid until the next call
   * that lays memory out). μ, V and C of every position stay in this memory (V and C zeroed a batch at a time by
   * `fitPositions`) until `fitResults`, so each part is copied out once.
   */
  fitLayout(n: number, r: number, p: number, positions: number, batch: number, sourceFloats = 0): Float64Array {
    this.workspace(n);
    const at = this.fitAt(n, r, p, positions, batch, sourceFloats);
    if (growTo(this.k.memory, at.end)) {
      this.n = -1;
      this.workspace(n);
    }
    this.fit = { n, r, p, at, sources: at.sources };
    this.k.takeNonFinite();
    return new Float64Array(this.k.memory.buffer, at.x, batch * n * r);
  }

  /** Copies a task's float32 factor into the fit's memory (room for `sourceFloats` in all) for `gather`; returns where. */
  fitSource(data: Float32Array): number {
    const fit = this.fit!;
    const at = fit.sources;
    new Float32Array(this.k.memory.buffer, at, data.length).set(data);
    fit.sources += 4 * data.length;
    return at;
  }

  /**
   * Task `task`'s vectors at positions from..from+count into the batch's X: element (pos, k) of the float32 factor
   * at `src` is src[pos·posStride + k·kStride]·scale, widened and scaled as deltaFactors does (bitwise the same).
   */
  gather(src: number, rank: number, posStride: number, kStride: number, scale: number, task: number, from: number, count: number): void {
    const { n, r, at } = this.fit!;
    this.k.gather(src, rank, posStride, kStride, scale, from, count, at.x + 8 * task * r, 8 * n * r);
  }

  /** Fits positions from..from+count, whose X the caller has written into fitLayout's view. Bitwise what the JavaScript gives. */
  fitPositions(from: number, count: number): void {
    const { d, e, c, s } = this.at;
    const { n, r, p, at } = this.fit!;
    // V and C of these positions zeroed just before the kernel writes them (while in cache), not a factor's at once.
    const buffer = this.k.memory.buffer;
    new Float64Array(buffer, at.basis + 8 * from * p * r, count * p * r).fill(0);
    new Float64Array(buffer, at.coef + 8 * from * n * p, count * n * p).fill(0);
    this.k.fitPositions(
      count,
      n,
      r,
      p,
      at.x,
      at.mu + 8 * from * r,
      at.basis + 8 * from * p * r,
      at.coef + 8 * from * n * p,
      0,
      d,
      e,
      c,
      s,
      at.pair,
    );
  }

  /**
   * μ (positions×r), V (positions×p·r) and C (positions×n·p) of the positions laid out, rounded to float32 (as the
   * artifact stores them) into `into` where given (arrays of those lengths), else into new arrays; `finite`:
   * whether every value gathered was finite.
   */
  fitResults(into?: { mu: Float32Array; basis: Float32Array; coef: Float32Array }): {
    mu: Float32Array;
    basis: Float32Array;
    coef: Float32Array;
    finite: boolean;
  } {
    const { at } = this.fit!;
    const buffer = this.k.memory.buffer;
    const part = (from: number, to: number, target?: Float32Array) => {
      const fit = new Float64Array(buffer, from, (to - from) / 8);
      if (!target) return new Float32Array(fit);
      target.set(fit);
      return target;
    };
    return {
      mu: part(at.mu, at.basis, into?.mu),
      basis: part(at.basis, at.coef, into?.basis),
      coef: part(at.coef, at.sources, into?.coef),
      finite: this.k.takeNonFinite() === 0,
    };
  }

  private fit: { n: number; r: number; p: number; at: ReturnType<EigenKernels['fitAt']>; sources: number } | null = null;

  /**
   * Byte offsets of a fit: after the n×n workspace, the workspace of two pairs of positions and of their Grams
   * (fitPositions' $w), X for one batch, then μ, V, C for all positions, then the float32 factors `gather` reads.
   */
  private fitAt(n: number, r: number, p: number, positions: number, batch: number, sourceFloats: number) {
    const pair = 8 * (n * n + 4 * n);
    const x = pair + 56 * n * n + 208 * n + 16 * n * r;
    const mu = x + 8 * batch * n * r;
    const basis = mu + 8 * positions * r;
    const coef = basis + 8 * positions * p * r;
    const sources = coef + 8 * positions * n * p;
    return { pair, x, mu, basis, coef, sources, end: sources + 4 * sourceFloats };
  }

  /** The solve of symmetric-eigen.ts on the workspace's matrix: eigenvectors as rows, rows and d ascending. */
  eigenRows(n: number): void {
    const { d, e, c, s } = this.at;
    this.k.eigenRows(0, n, d, e, c, s);
  }
}

const kernels = loadOnce('eigen-kernels.wat', (exports) => new EigenKernels(exports as Exports));

/** Compiles the kernels (once); a float64 thread awaits this before it takes work. */
export const loadEigenKernels = (): Promise<EigenKernels> => kernels.load();

/** The kernels once loaded, else null (the caller runs the JavaScript loops). */
export const eigenKernels = (): EigenKernels | null => kernels.current();
