/**
 * cholesky-kernels.wat (gram-factor.ts's two N³/6 loops, WebAssembly SIMD) compiled once per thread by wabt, with
 * the memory they work in. Loading is asynchronous (wabt's compiler starts so); a factor before it is done runs the
 * JavaScript loops, which give bitwise the same results, so only the speed depends on it.
 */
import { growTo, KERNEL_MAX_BYTES, type KernelMemory, loadOnce } from './wat-module.ts';

interface Exports {
  memory: KernelMemory;
  eliminate(rs: number, sr: number, q: number, n: number): void;
  invertRow(rs: number, sr: number, inv: number, sx: number, i: number, q: number): void;
}

/** Values past a row's last column, so that eight columns can go side by side from any first one. */
export const ROW_PAD = 8;

/**
 * The two loops on the kernel's memory: `rs` (n rows of stride n + ROW_PAD, zeroed) and the rows of R₁₁⁻¹ after it
 * (stride q + ROW_PAD, zeroed by `invert`).
 */
export class CholeskyKernels {
  private n = 0;
  rs = new Float64Array(0);

  constructor(private readonly k: Exports) {}

  /** rs for order n, zeroed (a view valid until the next call), or null past KERNEL_MAX_BYTES. */
  workspace(n: number): Float64Array | null {
    const bytes = 8 * 2 * n * (n + ROW_PAD);
    if (bytes > KERNEL_MAX_BYTES) return null;
    growTo(this.k.memory, bytes);
    this.n = n;
    this.rs = new Float64Array(this.k.memory.buffer, 0, n * (n + ROW_PAD));
    this.rs.fill(0);
    return this.rs;
  }

  /** rs[q][j] −= rs[t][q]·rs[t][j] for t < q, j in (q, n). */
  eliminate(q: number): void {
    this.k.eliminate(0, 8 * (this.n + ROW_PAD), q, this.n);
  }

  /** R₁₁⁻¹ (q×q, rows of stride q + ROW_PAD) from rs's first q rows: a view valid until the next call. */
  invert(q: number): Float64Array {
    const at = this.rs.length;
    const inv = new Float64Array(this.k.memory.buffer, 8 * at, q * (q + ROW_PAD)).fill(0);
    for (let i = q - 1; i >= 0; i--) this.k.invertRow(0, 8 * (this.n + ROW_PAD), 8 * at, 8 * (q + ROW_PAD), i, q);
    return inv;
  }
}

const kernels = loadOnce('cholesky-kernels.wat', (exports) => new CholeskyKernels(exports as Exports));

/** Compiles the kernels (once). */
export const loadCholeskyKernels = (): Promise<CholeskyKernels> => kernels.load();

/** The kernels once loaded, else null (the caller runs the JavaScript loops). */
export const choleskyKernels = (): CholeskyKernels | null => kernels.current();
