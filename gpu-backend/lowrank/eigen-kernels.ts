/**
 * eigen-kernels.wat (symmetric-eigen.ts's solver, WebAssembly SIMD) compiled once per thread by wabt, with the
 * memory it works in. Loading is asynchronous (wabt's compiler starts so); a solve before it is done runs the
 * JavaScript solver, which gives bitwise the same results, so only the speed depends on it.
 */
import { instantiateWat } from './wat-module.ts';

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
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
}

/** Views of the memory for `fitPositions` over a batch: per position X (n×r), μ (r), V (p·r), C (n·p). */
export interface FitBatch {
  x: Float64Array;
  mu: Float64Array;
  basis: Float64Array;
  coef: Float64Array;
}

const PAGE = 65536;

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
    const have = this.k.memory.buffer.byteLength;
    if (bytes > have) this.k.memory.grow(Math.ceil((bytes - have) / PAGE));
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
   * reversible-factor.ts's per-position fit (n ≤ r, p < n) over `count` positions whose X the caller has written
   * into `batch(…).x`; μ, V and C come back in the other views. Bitwise what the JavaScript gives.
   */
  fitPositions(count: number, n: number, r: number, p: number): void {
    const { d, e, c, s } = this.at;
    const at = this.batchAt(n, r, p, count);
    this.k.fitPositions(count, n, r, p, at.x, at.mu, at.basis, at.coef, 0, d, e, c, s, at.pair);
  }

  /** The views for a batch of `count` positions (valid until the next call that lays memory out), V and C zeroed. */
  batch(n: number, r: number, p: number, count: number): FitBatch {
    this.workspace(n);
    const at = this.batchAt(n, r, p, count);
    const have = this.k.memory.buffer.byteLength;
    if (at.end > have) {
      this.k.memory.grow(Math.ceil((at.end - have) / PAGE));
      this.n = -1;
      this.workspace(n);
    }
    const buffer = this.k.memory.buffer;
    const views = {
      x: new Float64Array(buffer, at.x, count * n * r),
      mu: new Float64Array(buffer, at.mu, count * r),
      basis: new Float64Array(buffer, at.basis, count * p * r),
      coef: new Float64Array(buffer, at.coef, count * n * p),
    };
    views.basis.fill(0);
    views.coef.fill(0);
    return views;
  }

  /** Byte offsets of a batch, after the n×n workspace and the workspace of a pair of positions (fitPositions' $w). */
  private batchAt(n: number, r: number, p: number, count: number) {
    const pair = 8 * (n * n + 4 * n);
    const x = pair + 24 * n * n + 96 * n;
    const mu = x + 8 * count * n * r;
    const basis = mu + 8 * count * r;
    const coef = basis + 8 * count * p * r;
    return { pair, x, mu, basis, coef, end: coef + 8 * count * n * p };
  }

  /** The solve of symmetric-eigen.ts on the workspace's matrix: eigenvectors as rows, rows and d ascending. */
  eigenRows(n: number): void {
    const { d, e, c, s } = this.at;
    this.k.eigenRows(0, n, d, e, c, s);
  }
}

let loading: Promise<EigenKernels> | undefined;
let loaded: EigenKernels | null = null;

/** Compiles the kernels (once); a float64 thread awaits this before it takes work. */
export function loadEigenKernels(): Promise<EigenKernels> {
  loading ??= (async () => {
    loaded = new EigenKernels((await instantiateWat('eigen-kernels.wat')) as Exports);
    return loaded;
  })();
  return loading;
}

/** The kernels once loaded, else null (the caller runs the JavaScript loops). */
export function eigenKernels(): EigenKernels | null {
  return loaded;
}
