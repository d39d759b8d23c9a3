import { z } from '@hono/zod-openapi';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { PLAIN_KEY_PREFIX, PLAIN_KEY_PREFIX_RULE, TENANTS_PREFIX } from '../store.ts';
import { Name, listOf } from './common.ts';

/** A plain key prefix (PLAIN_KEY_PREFIX), the first name not the tenants' area. */
const PREFIX = new RegExp(`^(?!${TENANTS_PREFIX})${PLAIN_KEY_PREFIX.source.slice(1)}`);

export const StoragePrefix = z
  .string()
  .min(2)
  .max(512)
  .regex(PREFIX, `must be ${PLAIN_KEY_PREFIX_RULE}, and not under "${TENANTS_PREFIX}"`)
  .openapi({ example: 'models/tiny-llama/' });

export const CreateBaseModelRequest = z
  .strictObject({
    name: Name.openapi({ description: 'What `model` strings call it, e.g. "llama-3.1-8b".' }),
    storage_prefix: StoragePrefix.openapi({ description: 'Where config.json and the safetensors weights are in the bucket.' }),
  })
  .openapi('CreateBaseModelRequest');

export const BaseModel = z
  .object({
    id: z.string(),
    object: z.literal('base_model'),
    name: z.string(),
    storage_prefix: z.string(),
    family: z.enum(['llama', 'mistral', 'qwen2']),
    num_layers: z.number().int(),
    hidden_size: z.number().int(),
    vocab_size: z.number().int(),
    context_length: z.number().int(),
    created_at: UnixSeconds,
  })
  .openapi('BaseModel');

export const BaseModelList = listOf(BaseModel, 'BaseModelList');
