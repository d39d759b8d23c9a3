/**
 * Which onnxruntime execution provider runs the engine's sessions: EXECUTION_PROVIDER = auto | cuda | cpu.
 * auto takes CUDA when this install can run it (onnxruntime-node lists it for the platform, its CUDA provider
 * library was installed next to the binding, as `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` does, and the host has
 * an NVIDIA device), and the CPU otherwise; cuda insists and refuses to start without one. Chosen once at start
 * (server.ts); until then sessions run on the CPU.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';

export const EXECUTION_PROVIDER_SETTINGS = ['auto', 'cuda', 'cpu'] as const;
export type ExecutionProviderSetting = (typeof EXECUTION_PROVIDER_SETTINGS)[number];
export type ExecutionProvider = 'cuda' | 'cpu';

export function parseExecutionProvider(raw: string | undefined): ExecutionProviderSetting {
  if (raw === undefined || raw === '') return 'auto';
  const setting = EXECUTION_PROVIDER_SETTINGS.find((s) => s === raw.trim().toLowerCase());
  if (!setting) throw new Error(`EXECUTION_PROVIDER must be one of ${EXECUTION_PROVIDER_SETTINGS.join(', ')}, got "${raw}".`);
  return setting;
}

/** What this install and host offer for CUDA; each part can be given in tests. */
export interface CudaProbe {
  /** onnxruntime-node builds CUDA support for this platform. */
  listed: boolean;
  /** The CUDA provider library sits next to the binding (the npm package ships only the CPU one). */
  providerInstalled: boolean;
  /** An NVIDIA device is visible (a container started without GPUs has none). */
  device: boolean;
}

export function probeCuda(): CudaProbe {
  const bindingDir = join(
    dirname(createRequire(import.meta.url).resolve('onnxruntime-node')),
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
  return {
    listed: ort.listSupportedBackends().some((b) => b.name === 'cuda'),
    providerInstalled: existsSync(join(bindingDir, 'libonnxruntime_providers_cuda.so')),
    device: existsSync('/dev/nvidiactl'),
  };
}

export function chooseExecutionProvider(setting: ExecutionProviderSetting, probe: CudaProbe = probeCuda()): ExecutionProvider {
  const missing = [
    !probe.listed && 'onnxruntime-node has no CUDA build for this platform',
    !probe.providerInstalled && 'its CUDA provider is not installed (install with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci)',
    !probe.device && 'no NVIDIA device is visible (/dev/nvidiactl; run the container with --gpus)',
  ].filter((m): m is string => typeof m === 'string');
  if (setting === 'cpu') return 'cpu';
  if (missing.length === 0) return 'cuda';
  if (setting === 'cuda')
    throw new Error(`EXECUTION_PROVIDER=cuda, but ${missing.join('; ')}. Set EXECUTION_PROVIDER=auto or cpu to run on the CPU.`);
  return 'cpu';
}

let inUse: ExecutionProvider = 'cpu';

/** Chooses the provider for every session created from now on; returns it. */
export function useExecutionProvider(setting: ExecutionProviderSetting, probe?: CudaProbe): ExecutionProvider {
  inUse = chooseExecutionProvider(setting, probe);
  return inUse;
}

/** The session option: CUDA first with the CPU behind it for the ops CUDA lacks (MatMulNBits' CPU kernels, say). */
export function executionProviders(): ExecutionProvider[] {
  return inUse === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}
