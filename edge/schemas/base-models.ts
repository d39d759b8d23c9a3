import { z } from '@hono/zod-openapi';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { TENANTS_PREFIX } from '../store.ts';
import { Name, listOf } from './common.ts';

/**
 * A key prefix that names the same keys however it travels to the store: a URL path on the way to S3 resolves
 * "." and ".." segments and reads "\" as "/" and "%" as an escape, so `./tenants/x/` would reach `tenants/x/`.
 * Hence names of printable ASCII without those, separated by single "/", none "." or "..", the first not
 * the tenants' area.
 */
const PREFIX = new RegExp(`^(?!${TENANTS_PREFIX})(?:(?!\\.\\.?/)[!"$&-.0-9:->@-\\[\\]-~]+/)+$`);

export const StoragePrefix = z
  .string()
  .min(2)
  .max(512)
  .regex(
    PREFIX,
    `must be a key prefix in the bucket ending in "/": names separated by single "/", none of them "." or "..", without spaces, "%", "\\", "?" or "#", and not under "${TENANTS_PREFIX}"`,
  )
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
