/**
 * Serving on WebGPU: several adapters decoded in one batch, each row with its own LoRA, give PEFT's greedy tokens;
 * one mixed step (per-row adapters, a shared-basis row, the base) on float32, int8 and int4 weights gives the CPU
 * provider's logits. The CPU sessions are built beside the WebGPU ones in the same process (the provider is
 * taken when a session is created).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { forwardLogits, LOGITS_TOLERANCE, loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { generate } from '../../gpu-backend/engine/generate.ts';
import { LoraRows } from '../../gpu-backend/engine/lora-rows.ts';
import { executionProviderInUse, useExecutionProvider } from '../../gpu-backend/engine/providers.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';
import { buildReversibleMerge } from '../../gpu-backend/lowrank/reversible.ts';
import { sharedBasisOfMerge } from '../../gpu-backend/lowrank/shared-basis-form.ts';
import { FIXTURE } from '../backend/helpers.ts';

/** Decode steps after the prefill: parity.test.ts follows each adapter's whole greedy sequence alone. */
const STEPS = 4;
let fx: Fixture;
const WEIGHTS = ['fp32', 'int8', 'int4'] as const;
const decoders: Record<'cpu' | 'webgpu', Record<(typeof WEIGHTS)[number], Decoder>> = {} as never;

beforeAll(async () => {
  expect(executionProviderInUse()).toBe('webgpu');
  fx = await loadFixture(FIXTURE);
  const folder = await readModelFolder(`${FIXTURE}/base`);
  for (const provider of ['cpu', 'webgpu'] as const) {
    await useExecutionProvider(provider);
    decoders[provider] = {
      fp32: await Decoder.fromFolder(folder),
      // Accuracy level 0 (float activations) on both: at the default level 4 the CPU kernels quantize activations
      // to int8, which WebGPU's MatMulNBits does not, so the two differ by design (0.05 in the logits here).
      int8: await Decoder.fromFolder(folder, { weightQuantization: { bits: 8, accuracyLevel: 0 } }),
      int4: await Decoder.fromFolder(folder, { weightQuantization: { bits: 4, accuracyLevel: 0 } }),
    };
  }
  expect(executionProviderInUse()).toBe('webgpu');
});

describe('serving on WebGPU', () => {
  test("four requests with different adapters, decoded in one batch, each give PEFT's first greedy tokens", async () => {
    const names = ['task_a', 'base', 'task_c', 'task_b'];
    const prompt = fx.inputIds[0];
    const want = (name: string) => (fx.referenceJson[`generate.${name}`] as number[]).slice(prompt.length, prompt.length + STEPS);
    const results = await generate(
      decoders.webgpu.fp32,
      names.map((name) => ({ prompt, adapter: name === 'base' ? null : fx.adapters.get(name)!, maxTokens: STEPS, stop: [] })),
    );
    results.forEach((res, i) => expect(res.tokens).toEqual(want(names[i])));
  });

  test.each(WEIGHTS)('a mixed step (adapter, shared-basis task, base) on %s weights equals the CPU provider', async (weights) => {
    const merge = await buildReversibleMerge(
      ['task_a', 'task_b', 'task_c'].map((name) => ({ name, baseModel: 'tiny', adapter: fx.adapters.get(name)! })),
      { construction: 'shared', basisSize: 2 },
    );
    const rows = fx.inputIds.length;
    const seq = fx.inputIds[0].length;
    const logits = async (decoder: Decoder) => {
      const lora = new LoraRows(decoder.cfg, rows);
      lora.set(0, fx.adapters.get('task_c')!);
      lora.set(1, { basis: sharedBasisOfMerge(merge), task: 1 });
      const out = await decoder.step({
        tokens: fx.inputIds.flat(),
        rows,
        seq,
        newLengths: fx.inputIds.map((r) => r.length),
        cache: null,
        lora,
        logitsAt: fx.inputIds.map(() => [...Array(seq).keys()]),
      });
      return out.logits;
    };
    const [cpu, gpu] = [await logits(decoders.cpu[weights]), await logits(decoders.webgpu[weights])];
    expect(maxAbsDiff(cpu, gpu)).toBeLessThan(LOGITS_TOLERANCE);
    // The shared row differs from the base row: the basis was applied, not ignored.
    expect(
      maxAbsDiff(
        cpu,
        await forwardLogits(
          decoders.cpu[weights],
          fx.inputIds,
          fx.inputIds.map(() => null),
        ),
      ),
    ).toBeGreaterThan(1e-2);
  });
});
