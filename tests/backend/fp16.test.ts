/**
 * ENGINE_PRECISION=fp16 (engine/fp16.ts): the serving graph rewritten to float16, and the setting's refusals.
 * The fp16 graph runs here on the CPU provider (onnxruntime adds float32 Casts around the ops it has no float16
 * kernel for, so every tensor between ops is rounded to fp16); a GPU's WebGPU runs the same graph in f16 shaders.
 *
 * Tolerance: on the fixture (logits within ±2.5) fp16 drifts max |Δlogit| 0.0035 from fp32, ‖Δ‖/‖logits‖ 0.0011, and
 * every greedy token agrees (`npm run bench -- fp16`). Asserted: 0.02 against the transformers reference, about 5×
 * the measured drift, far below the fixture's gaps between its top logits that greedy decoding depends on.
 */
import { describe, expect, test } from 'vitest';
import { forwardLogits, loadFixture, maxAbsDiff } from '../../gpu-backend/cli/parity.ts';
import { toFloat32 } from '../../contracts/formats/safetensors.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { ExternalWeights } from '../../gpu-backend/engine/external-weights.ts';
import { toFloat16 } from '../../gpu-backend/engine/fp16.ts';
import { generate } from '../../gpu-backend/engine/generate.ts';
import { buildInferenceGraph } from '../../gpu-backend/engine/inference-graph.ts';
import { KEEP_FLOAT32 } from '../../gpu-backend/engine/load.ts';
import { parseEnginePrecision, useEnginePrecision } from '../../gpu-backend/engine/precision.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';
import { configFromEnv, startBackend } from '../../gpu-backend/server.ts';
import { join } from 'node:path';
import { FIXTURE } from './helpers.ts';

const FP16_MAX_ABS = 0.02;

describe('the fp16 serving graph', () => {
  test('holds every weight as float16 and computes in float16 but for the norms, the mask and the softmax', async () => {
    const { config } = await readModelFolder(join(FIXTURE, 'base'));
    const g = buildInferenceGraph(config, new ExternalWeights());
    const io = (vs: { name: string; type: string }[]) => vs.map((v) => `${v.name}:${v.type}`);
    const [inputs, outputs] = [io(g.inputs), io(g.outputs)];
    toFloat16(g, KEEP_FLOAT32);
    // Callers feed and read the same tensors.
    expect(io(g.inputs)).toEqual(inputs);
    expect(io(g.outputs)).toEqual(outputs);
    expect(g.initializers.filter((i) => i.type === 'float32').map((i) => i.name)).toEqual([]);
    expect(g.initializers.filter((i) => i.type === 'float16').length).toBeGreaterThan(0);
    const float32 = g.nodes.filter((n) => n.opType !== 'Cast' && n.outputTypes.includes('float32'));
    expect(float32.length).toBeGreaterThan(0);
    const inNorm = (name: string) => /\/(input_layernorm|post_attention_layernorm|norm)\//.test(name);
    // Outside the norms: the softmax, and the Add that adds the mask.
    for (const n of float32.filter((x) => !inNorm(x.name))) {
      expect(['Softmax', 'Add'], n.name).toContain(n.opType);
      if (n.opType === 'Add') expect(n.inputs, n.name).toContain('attn_mask');
    }
    expect(g.nodes.filter((n) => n.opType === 'MatMul').every((n) => n.outputTypes[0] === 'float16')).toBe(true);
  });

  test('serves the fixture within 0.02 of the transformers reference, with the same greedy tokens', async () => {
    const fx = await loadFixture(FIXTURE);
    const fp16 = await Decoder.fromFolder(await readModelFolder(join(FIXTURE, 'base')), { precision: 'fp16' });
    for (const name of ['base', 'task_a'] as const) {
      const adapter = name === 'base' ? null : fx.adapters.get(name)!;
      const got = await forwardLogits(
        fp16,
        fx.inputIds,
        fx.inputIds.map(() => adapter),
      );
      const drift = maxAbsDiff(got, toFloat32(fx.reference.get(`logits.${name}`)!));
      expect(drift, name).toBeLessThan(FP16_MAX_ABS);
      expect(drift, `${name}: fp16 rounds, so it differs`).toBeGreaterThan(0);
      const [res] = await generate(fp16, [{ prompt: fx.inputIds[0], adapter, maxTokens: 10 }]);
      expect(res.tokens, name).toEqual((fx.referenceJson[`generate.${name}`] as number[]).slice(fx.inputIds[0].length));
    }
    await fp16.release();
  });
});

describe('ENGINE_PRECISION', () => {
  test('is fp32 by default and refuses anything but fp32 or fp16', () => {
    expect(parseEnginePrecision(undefined)).toBe('fp32');
    expect(parseEnginePrecision(' FP16 ')).toBe('fp16');
    expect(() => parseEnginePrecision('bf16')).toThrow('ENGINE_PRECISION must be one of fp32, fp16, got "bf16".');
  });

  test('fp16 off WebGPU, or on SwiftShader, is a startup error that says what to set', async () => {
    await expect(startBackend(configFromEnv({ RANKGATE_LOCAL: '1', EXECUTION_PROVIDER: 'cpu', ENGINE_PRECISION: 'fp16' }))).rejects.toThrow(
      'ENGINE_PRECISION=fp16 runs only on the WebGPU provider, but the engine runs on cpu: set EXECUTION_PROVIDER=webgpu on a host with a Vulkan GPU, or ENGINE_PRECISION=fp32.',
    );
    expect(() => useEnginePrecision('fp16', 'cuda', false)).toThrow('but the engine runs on cuda');
    expect(() => useEnginePrecision('fp16', 'webgpu', true)).toThrow(/SwiftShader here \(no Vulkan GPU\), which has none/);
    expect(useEnginePrecision('fp16', 'webgpu', false)).toBe('fp16');
    expect(useEnginePrecision('fp32', 'cpu', false)).toBe('fp32');
  });
});
