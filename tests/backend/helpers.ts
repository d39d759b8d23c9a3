/** Shared test helpers for backend suites. */
import { Tokenizer } from '@huggingface/tokenizers';
import { mkdtemp, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenizerConfigJson, tokenizerJson } from '../../gpu-backend/default-model/tokenizer-files.ts';
import { TextTokenizer } from '../../gpu-backend/formats/tokenizer.ts';
import type { TrainingConfig } from '../../gpu-backend/train/trainer.ts';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { type Mat, zeros } from '../../gpu-backend/lowrank/linalg.ts';

export const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama');

/** A writable copy of the tiny-llama fixture, for tests that corrupt or extend it. */
export async function fixtureCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-fixture-'));
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

/**
 * The default model's character-level tokenizer. The fixture has none of its own, and this one fits inside the
 * fixture's 320-token vocabulary.
 */
export function defaultModelTokenizer(): TextTokenizer {
  return new TextTokenizer(new Tokenizer(tokenizerJson(), tokenizerConfigJson()), tokenizerConfigJson());
}

/** LoRA r4 on three projections of the fixture, two epochs of batch 4 at a learning rate that moves it: `over` changes any of it. */
export const fixtureTrainingConfig = (over: Partial<TrainingConfig> = {}): TrainingConfig => ({
  mode: 'lora',
  lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
  epochs: 2,
  batchSize: 4,
  gradAccumSteps: 1,
  learningRate: 5e-3,
  warmupSteps: 2,
  schedule: 'cosine',
  weightDecay: 0.01,
  maxGradNorm: 1,
  maxLength: 48,
  seed: 3,
  checkpointEvery: 0,
  evalEvery: 0,
  baseModelName: 'tiny-llama',
  ...over,
});

/** The value of one Prometheus sample line, e.g. `rankgate_adapter_cache_requests_total{result="miss"}`; NaN when absent. */
export const metricSample = (text: string, name: string): number =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')[1] ?? NaN,
  );

/** A rows × cols matrix of values in [-0.5, 0.5) from a seeded linear congruential generator: the same every run. */
export function randomMat(rows: number, cols: number, seed: number): Mat {
  const m = zeros(rows, cols);
  let x = seed;
  for (let i = 0; i < m.data.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    m.data[i] = x / 2147483648 - 0.5;
  }
  return m;
}

/** The user-facing error `fn` raises, as "code: message", or "no error". */
export async function invalidInputOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof InvalidInputError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}
