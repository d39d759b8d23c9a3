/** EXECUTION_PROVIDER: auto takes CUDA only when every part is there, cuda insists, cpu never asks. */
import { describe, expect, test } from 'vitest';
import { chooseExecutionProvider, parseExecutionProvider, probeCuda } from '../../gpu-backend/engine/providers.ts';
import { configFromEnv } from '../../gpu-backend/server.ts';

const ready = { listed: true, providerInstalled: true, device: true };

describe('EXECUTION_PROVIDER', () => {
  test('auto (the default) is CUDA when it is listed, installed and a device is visible, and the CPU otherwise', () => {
    expect(parseExecutionProvider(undefined)).toBe('auto');
    expect(chooseExecutionProvider('auto', ready)).toBe('cuda');
    for (const part of ['listed', 'providerInstalled', 'device'] as const)
      expect(chooseExecutionProvider('auto', { ...ready, [part]: false })).toBe('cpu');
  });

  test('cuda refuses to start without it and says what is missing; cpu is the CPU even with a GPU', () => {
    expect(() => chooseExecutionProvider('cuda', { ...ready, providerInstalled: false })).toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(() => chooseExecutionProvider('cuda', { ...ready, device: false })).toThrow(/no NVIDIA device/);
    expect(chooseExecutionProvider('cpu', ready)).toBe('cpu');
  });

  test('an unknown value stops the backend at start, naming the choices', () => {
    expect(parseExecutionProvider(' CUDA ')).toBe('cuda');
    expect(() => configFromEnv({ RANKGATE_LOCAL: '1', EXECUTION_PROVIDER: 'gpu' })).toThrow(
      'EXECUTION_PROVIDER must be one of auto, cuda, cpu, got "gpu".',
    );
  });

  test("this machine's install (npm's, with the CUDA fetch skipped) has no CUDA provider, so auto is the CPU", () => {
    expect(probeCuda()).toMatchObject({ providerInstalled: false });
    expect(chooseExecutionProvider('auto')).toBe('cpu');
  });
});
