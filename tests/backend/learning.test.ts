/**
 * A real improvement, measured: a short LoRA training on the embedded default model's held-out task lifts the
 * held-out exact-match accuracy far above what the base model alone reaches (not a loss-went-down check).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { loadLoraAdapter } from '../../contracts/formats/adapter.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';
import { PROJECTIONS } from '../../contracts/formats/hf-config.ts';
import { decodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import { encodeDataset } from '../../gpu-backend/train/data.ts';
import { exactMatch } from '../../gpu-backend/train/evaluate.ts';
import { Trainer } from '../../gpu-backend/train/trainer.ts';

const MODEL = join(import.meta.dirname, '..', '..', 'models', 'rankgate-tiny');
const TASK = 'date_to_us';

test(`a short LoRA training on "${TASK}" beats the base model on held-out examples`, async () => {
  const base = await readModelFolder(join(MODEL, 'base'));
  const tok = await TextTokenizer.load(join(MODEL, 'base'));
  const decoder = await Decoder.fromFolder(base);
  const lines = (await readFile(join(MODEL, 'tasks', TASK, 'train.jsonl'), 'utf8')).trim().split('\n');
  const test = (await readFile(join(MODEL, 'tasks', TASK, 'test.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .slice(0, 50)
    .map((l) => JSON.parse(l));

  const trainer = new Trainer(
    base,
    {
      mode: 'lora',
      lora: { r: 8, alpha: 16, targetModules: [...PROJECTIONS] },
      epochs: 100,
      maxSteps: 200,
      batchSize: 16,
      gradAccumSteps: 1,
      learningRate: 5e-3,
      warmupSteps: 10,
      schedule: 'cosine',
      weightDecay: 0,
      maxGradNorm: 1,
      maxLength: 64,
      seed: 11,
      checkpointEvery: 0,
      evalEvery: 0,
      baseModelName: 'rankgate-tiny',
    },
    await encodeDataset(lines.slice(0, 960).join('\n'), tok, 64),
  );
  const result = await trainer.run();
  await trainer.release();
  const adapter = loadLoraAdapter(
    JSON.parse(new TextDecoder().decode(result.files.get('adapter_config.json'))),
    base.config,
    decodeSafetensors(result.files.get('adapter_model.safetensors')!).tensors,
  );

  const before = await exactMatch(decoder, tok, null, test);
  const after = await exactMatch(decoder, tok, adapter, test);
  console.log(`${TASK}: held-out exact match ${before.toFixed(2)} (base) -> ${after.toFixed(2)} (after ${result.step} LoRA steps)`);
  expect(before).toBeLessThanOrEqual(0.1);
  expect(after).toBeGreaterThanOrEqual(0.6);
}, 300_000);
