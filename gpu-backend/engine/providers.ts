/**
 * Which onnxruntime execution provider runs the engine's sessions: EXECUTION_PROVIDER = auto | cuda | webgpu | cpu.
 * auto takes CUDA when this install can run it (onnxruntime-node lists it for the platform, its CUDA provider
 * library was installed next to the binding, as `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` does, and the host has
 * an NVIDIA device), else WebGPU when a Vulkan GPU is present (the provider ships inside onnxruntime-node: Dawn over
 * the host's Vulkan driver), and the CPU otherwise. cuda insists and refuses to start without it; webgpu insists too,
 * and on a host without a Vulkan GPU runs on SwiftShader, a Vulkan driver on the CPU (swiftshader.ts): correct,
 * slow, and said so on stderr. Chosen once at start (server.ts, the parity command); until then sessions run on the CPU.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { useSwiftShader } from './swiftshader.ts';

export const EXECUTION_PROVIDER_SETTINGS = ['auto', 'cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProviderSetting = (typeof EXECUTION_PROVIDER_SETTINGS)[number];
export type ExecutionProvider = 'cuda' | 'webgpu' | 'cpu';

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

/** What the host offers for WebGPU. */
export interface VulkanProbe {
  /** The Vulkan loader, libvulkan.so.1, is installed (Debian's libvulkan1). */
  loader: boolean;
  /** A Vulkan driver manifest for a GPU: not a CPU driver (Mesa's lavapipe, SwiftShader). */
  gpuDriver: boolean;
  /** A GPU device node is visible (/dev/nvidiactl, /dev/dri/renderD*). */
  device: boolean;
}

export interface HostProbe {
  cuda: CudaProbe;
  vulkan: VulkanProbe;
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

const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
  '/usr/local/lib',
];
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const CPU_DRIVER = /lvp|lavapipe|swiftshader/i;

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir).map((f) => join(dir, f));
  } catch {
    return [];
  }
};

export function probeVulkan(env: NodeJS.ProcessEnv = process.env): VulkanProbe {
  const libDirs = [...(env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean), ...LIB_DIRS];
  const named = (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || '').split(delimiter).filter(Boolean);
  const manifests = named.length ? named : ICD_DIRS.flatMap(list).filter((f) => f.endsWith('.json'));
  return {
    loader: libDirs.some((d) => existsSync(join(d, 'libvulkan.so.1'))),
    gpuDriver: manifests.some((f) => !CPU_DRIVER.test(f) && existsSync(f)),
    device: existsSync('/dev/nvidiactl') || list('/dev/dri').some((f) => f.includes('renderD')),
  };
}

export function probeHost(): HostProbe {
  return { cuda: probeCuda(), vulkan: probeVulkan() };
}

/** Where sessions run; `swiftShader` when WebGPU has no GPU and runs on the CPU driver. */
export interface ProviderChoice {
  provider: ExecutionProvider;
  swiftShader: boolean;
}

export function chooseExecutionProvider(setting: ExecutionProviderSetting, probe: HostProbe = probeHost()): ProviderChoice {
  const { cuda, vulkan } = probe;
  const missing = [
    !cuda.listed && 'onnxruntime-node has no CUDA build for this platform',
    !cuda.providerInstalled && 'its CUDA provider is not installed (install with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci)',
    !cuda.device && 'no NVIDIA device is visible (/dev/nvidiactl; run the container with --gpus)',
  ].filter((m): m is string => typeof m === 'string');
  const vulkanGpu = vulkan.loader && vulkan.gpuDriver && vulkan.device;
  if (setting === 'cpu') return { provider: 'cpu', swiftShader: false };
  if (setting === 'webgpu') return { provider: 'webgpu', swiftShader: !vulkanGpu };
  if (missing.length === 0) return { provider: 'cuda', swiftShader: false };
  if (setting === 'cuda')
    throw new Error(`EXECUTION_PROVIDER=cuda, but ${missing.join('; ')}. Set EXECUTION_PROVIDER=auto, webgpu or cpu.`);
  return { provider: vulkanGpu ? 'webgpu' : 'cpu', swiftShader: false };
}

let inUse: ExecutionProvider = 'cpu';
let onSwiftShader = false;

/**
 * Chooses the provider for every session created from now on and returns it; on WebGPU without a GPU, first
 * points Vulkan at SwiftShader and says so on stderr.
 */
export async function useExecutionProvider(setting: ExecutionProviderSetting, probe?: HostProbe): Promise<ExecutionProvider> {
  const choice = chooseExecutionProvider(setting, probe);
  if (choice.swiftShader) {
    const dir = await useSwiftShader();
    process.stderr.write(
      `rankgate: EXECUTION_PROVIDER=webgpu and no Vulkan GPU here: WebGPU runs on SwiftShader, a Vulkan driver on the CPU (${dir}); correct but slow.\n`,
    );
  }
  inUse = choice.provider;
  onSwiftShader = choice.swiftShader;
  return inUse;
}

export function executionProviderInUse(): ExecutionProvider {
  return inUse;
}

/** Whether WebGPU runs on SwiftShader (the CPU): its timings then say nothing about a GPU. */
export function swiftShaderInUse(): boolean {
  return inUse === 'webgpu' && onSwiftShader;
}

/** The session option: the GPU provider first with the CPU behind it for the ops it lacks. */
export function executionProviders(): ExecutionProvider[] {
  return inUse === 'cpu' ? ['cpu'] : [inUse, 'cpu'];
}
