/**
 * qr-kernels.wat (linalg.ts's Householder QR, WebAssembly SIMD) compiled once per thread by wabt, with the memory it
 * works in. Loading is asynchronous (wabt's compiler starts so); a QR before it is done runs the JavaScript, which
 * gives bitwise the same results, so only the speed depends on it.
 */
import { growTo, KERNEL_MAX_BYTES, type KernelMemory, loadOnce } from './wat-module.ts';
import type { Mat } from './linalg.ts';

interface Exports {
  memory: KernelMemory;
  factor(a: number, sa: number, m: number, n: number, vs: number): void;
  formQ(q: number, sq: number, m: number, k: number, vs: number): void;
}

export class QrKernels {
  constructor(private readonly k: Exports) {}

  /**
   * The thin QR of a (q m×k, r k×n, k = min(m, n)), or null where its workspace would pass KERNEL_MAX_BYTES. Laid out as
   * a (row stride n + 1), the k reflectors, Q (row stride k + 1): each with a scratch column for the lanes.
   */
  qr(a: Mat): { q: Mat; r: Mat } | null {
    const { rows: m, cols: n } = a;
    const k = Math.min(m, n);
    const [sa, sq] = [n + 1, k + 1];
    const vsAt = m * sa;
    const qAt = vsAt + k * m;
    const end = qAt + m * sq;
    if (8 * end > KERNEL_MAX_BYTES) return null;
    growTo(this.k.memory, 8 * end);
    const mem = new Float64Array(this.k.memory.buffer, 0, end);
    for (let i = 0; i < m; i++) mem.set(a.data.subarray(i * n, (i + 1) * n), i * sa);
    mem.fill(0, vsAt, end);
    for (let c = 0; c < k; c++) mem[qAt + c * sq + c] = 1;
    this.k.factor(0, 8 * sa, m, n, 8 * vsAt);
    this.k.formQ(8 * qAt, 8 * sq, m, k, 8 * vsAt);
    const q = new Float64Array(m * k);
    for (let i = 0; i < m; i++) q.set(mem.subarray(qAt + i * sq, qAt + i * sq + k), i * k);
    const r = new Float64Array(k * n);
    for (let i = 0; i < k; i++) r.set(mem.subarray(i * sa + i, i * sa + n), i * n + i);
    return { q: { rows: m, cols: k, data: q }, r: { rows: k, cols: n, data: r } };
  }
}

const kernels = loadOnce('qr-kernels.wat', (exports) => new QrKernels(exports as Exports));

/** Compiles the kernel (once). */
export const loadQrKernels = (): Promise<QrKernels> => kernels.load();

/** The kernel once loaded, else null (the caller runs the JavaScript). */
export const qrKernels = (): QrKernels | null => kernels.current();
