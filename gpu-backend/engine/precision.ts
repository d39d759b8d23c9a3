/**
 * ENGINE_PRECISION = fp32 | fp16: the float type of the serving graphs' weights and activations (training graphs stay
 * float32). fp16 halves the weight bytes a decode step reads and doubles a GPU's MatMul rate, but it needs float16
 * shaders, which only the WebGPU provider on a real GPU has here: the CPU provider has float16 kernels for few ops,
 * and SwiftShader, WebGPU's CPU driver, none. Its drift against fp32 is measured in the engine README
 * (`npm run bench -- fp16`). Chosen once at start, after the execution provider (server.ts, bench/index.ts); the
 * parity command stays fp32, since it checks the engine against float32 references at 1e-4.
 */
import type { ExecutionProvider } from './providers.ts';

export const ENGINE_PRECISIONS = ['fp32', 'fp16'] as const;
export type EnginePrecision = (typeof ENGINE_PRECISIONS)[number];

export function parseEnginePrecision(raw: string | undefined): EnginePrecision {
  if (raw === undefined || raw === '') return 'fp32';
  const setting = ENGINE_PRECISIONS.find((p) => p === raw.trim().toLowerCase());
  if (!setting) throw new Error(`ENGINE_PRECISION must be one of ${ENGINE_PRECISIONS.join(', ')}, got "${raw}".`);
  return setting;
}

let inUse: EnginePrecision = 'fp32';

/** Sets the precision of every serving graph built from now on; fp16 only where float16 shaders run. */
export function useEnginePrecision(precision: EnginePrecision, provider: ExecutionProvider, onSwiftShader: boolean): EnginePrecision {
  if (precision === 'fp16' && provider !== 'webgpu')
    throw new Error(
      `ENGINE_PRECISION=fp16 runs only on the WebGPU provider, but the engine runs on ${provider}: set EXECUTION_PROVIDER=webgpu on a host with a Vulkan GPU, or ENGINE_PRECISION=fp32.`,
    );
  if (precision === 'fp16' && onSwiftShader)
    throw new Error(
      'ENGINE_PRECISION=fp16 needs float16 shaders, and WebGPU runs on SwiftShader here (no Vulkan GPU), which has none: run on a host with a Vulkan GPU, or set ENGINE_PRECISION=fp32.',
    );
  inUse = precision;
  return inUse;
}

export function enginePrecisionInUse(): EnginePrecision {
  return inUse;
}
