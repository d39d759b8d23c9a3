/**
 * eigen-kernels.wat (the O(n³) loops of symmetric-eigen.ts, WebAssembly SIMD) compiled once per thread by wabt,
 * with the memory they work in. Loading is asynchronous (wabt's compiler starts so); a solve before it is done
 * runs the same loops in JavaScript, which give bitwise the same results, so only the speed depends on it.
 */
import { readFileSync } from 'node:fs';
import wabt from 'wabt';

/** The little of the WebAssembly API used here (the project's TypeScript libs leave out the DOM's, which declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: unknown };
};

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  symv(v: number, n: number, i: number, d: number, e: number): void;
  rank2(v: number, n: number, i: number, d: number, e: number): void;
  accumulate(v: number, n: number, i: number, d: number): void;
  rotate(v: number, n: number, lo: number, hi: number, c: number, s: number): void;
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
}

let loading: Promise<EigenKernels> | undefined;
let loaded: EigenKernels | null = null;

/** Compiles the kernels (once); a float64 thread awaits this before it takes work. */
export function loadEigenKernels(): Promise<EigenKernels> {
  loading ??= (async () => {
    const text = readFileSync(new URL('./eigen-kernels.wat', import.meta.url), 'utf8');
    const parsed = (await wabt()).parseWat('eigen-kernels.wat', text, { simd: true });
    try {
      const module = new WebAssembly.Module(parsed.toBinary({}).buffer);
      loaded = new EigenKernels(new WebAssembly.Instance(module, {}).exports as Exports);
      return loaded;
    } finally {
      parsed.destroy();
    }
  })();
  return loading;
}

/** The kernels once loaded, else null (the caller runs the JavaScript loops). */
export function eigenKernels(): EigenKernels | null {
  return loaded;
}
