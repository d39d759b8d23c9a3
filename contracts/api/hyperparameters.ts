/**
 * A fine-tuning job's hyperparameters (OpenAI's names plus LoRA's) and their defaults: the edge stores what a
 * client sent with these defaults filled in, and the backend's trainer starts from the same values.
 */
import { z } from '@hono/zod-openapi';
import { PROJECTIONS, type Projection } from '../formats/hf-config.ts';
import { MAX_RANK } from '../formats/peft-config.ts';

/**
 * q_proj and v_proj, PEFT's own default for Llama-family models and what LoRA's paper trains: the smallest
 * adapter that learns most tasks. A client who wants more names them (all seven projections train too).
 */
export const DEFAULT_TARGET_MODULES: readonly Projection[] = ['q_proj', 'v_proj'];

export const HYPERPARAMETER_DEFAULTS = {
  n_epochs: 3,
  batch_size: 8,
  learning_rate: 1e-3,
  lora_r: 8,
  lora_alpha: 16,
} as const;

export const Hyperparameters = z
  .strictObject({
    n_epochs: z.number().int().min(1).max(100).default(HYPERPARAMETER_DEFAULTS.n_epochs),
    batch_size: z.number().int().min(1).max(512).default(HYPERPARAMETER_DEFAULTS.batch_size),
    learning_rate: z.number().positive().max(1).default(HYPERPARAMETER_DEFAULTS.learning_rate),
    lora_r: z.number().int().min(1).max(MAX_RANK).default(HYPERPARAMETER_DEFAULTS.lora_r),
    lora_alpha: z.number().positive().max(4096).default(HYPERPARAMETER_DEFAULTS.lora_alpha),
    target_modules: z
      .array(z.enum(PROJECTIONS))
      .min(1)
      .max(PROJECTIONS.length)
      .default([...DEFAULT_TARGET_MODULES]),
  })
  .openapi('Hyperparameters');

export type Hyperparameters = z.output<typeof Hyperparameters>;
