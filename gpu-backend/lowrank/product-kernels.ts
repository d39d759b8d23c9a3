/**
 * product-kernels.wat (linalg.ts's float64 product, WebAssembly SIMD) compiled once per thread by wabt, with the
 * memory it works in. Loading is asynchronous (wabt's compiler starts so); a product before it is done runs the
 * JavaScript loop, which gives bitwise the same results, so only the speed depends on it.
 */
import { growTo, type KernelMemory, loadOnce } from './wat-module.ts';

interface Exports {
  memory: KernelMemory;
  product(a: number, rowA: number, stepA: number, b: number, c: number, m: number, k: number, n: number): void;
}

/**
 * c = a·b over the kernel's memory (a m×k, or given as aᵀ k×m; b k×n; row-major): the rows of c in pairs and its
 * columns in pairs; an odd last row or column is left for the caller (entries of c it does not write hold whatever
 * was there).
 */
export class ProductKernels {
  constructor(private readonly k: Exports) {}

  /**
   * a·b (or, with `aTransposed`, a holding aᵀ) as a fresh array, or with `inPlace` as a view of the kernel's memory
   * that the next product overwrites; the caller fills the odd last row / column.
   */
  product(a: Float64Array, b: Float64Array, m: number, k: number, n: number, aTransposed = false, inPlace = false): Float64Array {
    const bAt = 8 * m * k;
    const cAt = bAt + 8 * k * n;
    const end = cAt + 8 * m * n;
    growTo(this.k.memory, end);
    const buffer = this.k.memory.buffer;
    new Float64Array(buffer, 0, m * k).set(a);
    new Float64Array(buffer, bAt, k * n).set(b);
    this.k.product(0, aTransposed ? 8 : 8 * k, aTransposed ? 8 * m : 8, bAt, cAt, m, k, n);
    return inPlace ? new Float64Array(buffer, cAt, m * n) : new Float64Array(buffer.slice(cAt, end));
  }
}

const kernels = loadOnce('product-kernels.wat', (exports) => new ProductKernels(exports as Exports));

/** Compiles the kernel (once). */
export const loadProductKernels = (): Promise<ProductKernels> => kernels.load();

/** The kernel once loaded, else null (the caller runs the JavaScript loop). */
export const productKernels = (): ProductKernels | null => kernels.current();
