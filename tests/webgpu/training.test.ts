/**
 * A short LoRA training run on WebGPU (forward and backward graphs, the head's loss, AdamW on the host) follows the
 * same run on the CPU provider step by step: the same losses and the same trained adapter, within float32 rounding.
 */
import { expect, test } from 'vitest';
import { decodeSafetensors, toFloat32 } from '../../contracts/formats/safetensors.ts';
import { maxAbsDiff } from '../../gpu-backend/cli/parity.ts';
import { examples, TASKS } from '../../gpu-backend/default-model/skills.ts';
import { rng } from '../../gpu-backend/engine/sampling.ts';
import { executionProviderInUse, useExecutionProvider } from '../../gpu-backend/engine/providers.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';
import { encodeDataset } from '../../gpu-backend/train/data.ts';
import { Trainer, type TrainingEvent } from '../../gpu-backend/train/trainer.ts';
import { defaultModelTokenizer, FIXTURE, fixtureTrainingConfig } from '../backend/helpers.ts';

test('two LoRA steps on WebGPU give the CPU provider’s losses and adapter', async () => {
  expect(executionProviderInUse()).toBe('webgpu');
  const base = await readModelFolder(`${FIXTURE}/base`);
  const tok = defaultModelTokenizer();
  const lines = examples(TASKS[0], 16, rng(1)).map((r) => JSON.stringify(r));
  const data = await encodeDataset(lines.join('\n'), tok, 48);
  const run = async (provider: 'cpu' | 'webgpu') => {
    await useExecutionProvider(provider);
    const trainer = new Trainer(base, fixtureTrainingConfig({ epochs: 1, maxSteps: 2, warmupSteps: 0, schedule: 'constant' }), data);
    const losses: number[] = [];
    const res = await trainer.run({ onEvent: (e: TrainingEvent) => e.type === 'step' && losses.push(e.loss) });
    await trainer.release();
    const adapter = decodeSafetensors(res.files.get('adapter_model.safetensors')!).tensors;
    return { losses, adapter };
  };
  const cpu = await run('cpu');
  const gpu = await run('webgpu');
  expect(executionProviderInUse()).toBe('webgpu');
  expect(gpu.losses).toHaveLength(2);
  gpu.losses.forEach((loss, i) => expect(Math.abs(loss - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-5));
  for (const [key, t] of cpu.adapter) {
    expect(maxAbsDiff(toFloat32(t), toFloat32(gpu.adapter.get(key)!))).toBeLessThan(1e-4);
  }
});
