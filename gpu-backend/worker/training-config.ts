/**
 * A fine-tuning job's hyperparameters (the edge's OpenAI-style names) as the Trainer's configuration.
 * What the API does not expose keeps the Trainer's defaults, except two choices made here: examples are cut
 * to the model's context, and a large batch is split into micro-batches with gradient accumulation (same
 * optimizer steps, bounded memory).
 */
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import { maxContext } from '../../contracts/formats/hf-config.ts';
import { TRAINING_DEFAULTS, type TrainingConfig } from '../train/trainer.ts';
import type { FineTuningSpec } from './edge-client.ts';

/** Most examples run through the training graphs at once. */
export const MAX_MICRO_BATCH = 8;

/** The largest divisor of `batch` not above the micro-batch bound, so micro-batches add up to exactly `batch`. */
function microBatch(batch: number): number {
  for (let m = Math.min(batch, MAX_MICRO_BATCH); m > 1; m--) if (batch % m === 0) return m;
  return 1;
}

export function trainingConfig(spec: FineTuningSpec, model: ModelConfig, checkpointEvery: number): TrainingConfig {
  const hp = spec.hyperparameters;
  const micro = microBatch(hp.batch_size);
  return {
    ...TRAINING_DEFAULTS,
    mode: 'lora',
    lora: { r: hp.lora_r, alpha: hp.lora_alpha, targetModules: hp.target_modules },
    epochs: hp.n_epochs,
    batchSize: micro,
    gradAccumSteps: hp.batch_size / micro,
    learningRate: hp.learning_rate,
    maxLength: Math.min(TRAINING_DEFAULTS.maxLength, maxContext(model)),
    seed: spec.seed,
    checkpointEvery,
    evalEvery: 0,
    baseModelName: spec.base_model.name,
  };
}
