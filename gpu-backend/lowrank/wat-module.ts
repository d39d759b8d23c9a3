/**
 * The lowrank kernels' WebAssembly text (`*.wat` beside this file) compiled by wabt, once per file per process.
 * Written as text rather than shipped as binaries so a reader can review the kernels; one compile path serves them all.
 */
import { readFileSync } from 'node:fs';
import wabt from 'wabt';

/** The little of the WebAssembly API used here (the project's TypeScript libs leave out the DOM's, which declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, unknown>) => { exports: unknown };
};
export type WasmModule = { readonly kind: 'wasm module' };

const compiled = new Map<string, Promise<WasmModule>>();

/** The module of `file` (a .wat beside this one, SIMD on), compiled on first use. */
export function compileWat(file: string): Promise<WasmModule> {
  let module = compiled.get(file);
  if (!module) {
    module = (async () => {
      const text = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
      const parsed = (await wabt()).parseWat(file, text, { simd: true });
      try {
        return new WebAssembly.Module(parsed.toBinary({}).buffer);
      } finally {
        parsed.destroy();
      }
    })();
    compiled.set(file, module);
  }
  return module;
}

/** An instance of `file`'s module with no imports (the kernel declares its own memory); its exports. */
export async function instantiateWat(file: string): Promise<unknown> {
  return new WebAssembly.Instance(await compileWat(file), {}).exports;
}

/**
 * A kernel module instantiated once per process, wrapped by `wrap`: `load` compiles it (a caller that must have it
 * awaits this), `current` is the instance once loaded, else null (the caller runs its JavaScript instead).
 */
export function loadOnce<T>(file: string, wrap: (exports: unknown) => T): { load(): Promise<T>; current(): T | null } {
  let loading: Promise<T> | undefined;
  let loaded: T | null = null;
  return {
    load: () =>
      (loading ??= (async () => {
        loaded = wrap(await instantiateWat(file));
        return loaded;
      })()),
    current: () => loaded,
  };
}

/** Bytes in a WebAssembly memory page, the unit it grows by. */
const WASM_PAGE = 65536;

/** A kernel's own memory (declared in its .wat): grown by whole pages, never shrunk. */
export interface KernelMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** Grows `memory` to hold at least `bytes`; whether it grew (views over its old buffer are then detached). */
export function growTo(memory: KernelMemory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return false;
  memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
  return true;
}

/** Largest workspace a thread's QR or Cholesky kernel memory grows to; a larger problem runs the JavaScript. */
export const KERNEL_MAX_BYTES = 64 * 2 ** 20;
