/** EXECUTION_PROVIDER: auto takes CUDA, then a Vulkan GPU's WebGPU, only when every part is there; cuda and webgpu insist; cpu never asks. */
import { describe, expect, test } from 'vitest';
import {
  chooseExecutionProvider,
  type HostProbe,
  parseExecutionProvider,
  probeCuda,
  probeVulkan,
} from '../../gpu-backend/engine/providers.ts';
import { configFromEnv } from '../../gpu-backend/server.ts';

const cudaReady = { listed: true, providerInstalled: true, device: true };
const vulkanReady = { loader: true, gpuDriver: true, device: true };
const noVulkan = { loader: false, gpuDriver: false, device: false };
const host = (cuda: Partial<HostProbe['cuda']>, vulkan: Partial<HostProbe['vulkan']>): HostProbe => ({
  cuda: { ...cudaReady, ...cuda },
  vulkan: { ...vulkanReady, ...vulkan },
});

describe('EXECUTION_PROVIDER', () => {
  test('auto (the default) is CUDA when it is listed, installed and a device is visible', () => {
    expect(parseExecutionProvider(undefined)).toBe('auto');
    expect(chooseExecutionProvider('auto', host({}, {}))).toEqual({ provider: 'cuda', swiftShader: false });
  });

  test('auto without CUDA is WebGPU on a Vulkan GPU (loader, GPU driver manifest, device), and the CPU otherwise', () => {
    for (const part of ['listed', 'providerInstalled', 'device'] as const) {
      expect(chooseExecutionProvider('auto', host({ [part]: false }, {})).provider).toBe('webgpu');
      for (const v of ['loader', 'gpuDriver', 'device'] as const)
        expect(chooseExecutionProvider('auto', host({ [part]: false }, { [v]: false })).provider).toBe('cpu');
    }
  });

  test('cuda refuses to start without it and says what is missing; cpu is the CPU even with a GPU', () => {
    expect(() => chooseExecutionProvider('cuda', host({ providerInstalled: false }, {}))).toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(() => chooseExecutionProvider('cuda', host({ device: false }, {}))).toThrow(/no NVIDIA device/);
    expect(chooseExecutionProvider('cpu', host({}, {})).provider).toBe('cpu');
  });

  test('webgpu is WebGPU on the Vulkan GPU when there is one, and on SwiftShader (the CPU) when there is none', () => {
    expect(chooseExecutionProvider('webgpu', host({}, {}))).toEqual({ provider: 'webgpu', swiftShader: false });
    expect(chooseExecutionProvider('webgpu', { cuda: cudaReady, vulkan: noVulkan })).toEqual({ provider: 'webgpu', swiftShader: true });
  });

  test('a CPU Vulkan driver (lavapipe, SwiftShader) is no GPU', () => {
    const probe = probeVulkan({ VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' });
    expect(probe.gpuDriver).toBe(false);
  });

  test('an unknown value stops the backend at start, naming the choices', () => {
    expect(parseExecutionProvider(' WebGPU ')).toBe('webgpu');
    expect(() => configFromEnv({ RANKGATE_LOCAL: '1', EXECUTION_PROVIDER: 'gpu' })).toThrow(
      'EXECUTION_PROVIDER must be one of auto, cuda, webgpu, cpu, got "gpu".',
    );
  });

  test("this machine's install (npm's, with the CUDA fetch skipped) has no CUDA provider and no GPU, so auto is the CPU", () => {
    expect(probeCuda()).toMatchObject({ providerInstalled: false });
    expect(chooseExecutionProvider('auto').provider).toBe('cpu');
  });
});
