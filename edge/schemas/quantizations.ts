import { z } from '@hono/zod-openapi';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { QuantizationResult } from '../../contracts/api/internal-api.ts';
import { DEFAULT_QUANTIZATION_GROUP_SIZE, QUANTIZATION_GROUP_SIZES } from '../../contracts/api/jobs.ts';
import { SERVED_WEIGHT_BITS } from '../../contracts/api/routed-target.ts';
import { BACKEND_JOB_STATUSES } from '../../schema/index.ts';
import { listOf } from './common.ts';

export const CreateQuantizationRequest = z
  .strictObject({
    bits: z
      .number()
      .refine((b) => (SERVED_WEIGHT_BITS as readonly number[]).includes(b), {
        message: `give ${SERVED_WEIGHT_BITS.join(' or ')}: the widths a base is served at`,
      })
      .openapi({ description: `Weight width, ${SERVED_WEIGHT_BITS.join(' or ')} bits; served as "<base>@int<bits>".` }),
    group_size: z
      .number()
      .refine((g) => (QUANTIZATION_GROUP_SIZES as readonly number[]).includes(g), {
        message: `give ${QUANTIZATION_GROUP_SIZES.join(', ')} weights per scale`,
      })
      .default(DEFAULT_QUANTIZATION_GROUP_SIZE)
      .openapi({ description: `Weights per scale (${QUANTIZATION_GROUP_SIZES.join(', ')}).` }),
  })
  .openapi('CreateQuantizationRequest');

export const Quantization = z
  .object({
    id: z.string(),
    object: z.literal('base_model.quantization'),
    base_model_id: z.string(),
    bits: z.number().int(),
    group_size: z.number().int(),
    status: z.enum(BACKEND_JOB_STATUSES),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    result: QuantizationResult.nullable().openapi({ description: 'Once succeeded: the stored bytes, as the backend reported them.' }),
    created_at: UnixSeconds,
    finished_at: UnixSeconds.nullable(),
  })
  .openapi('Quantization');

export const QuantizationList = listOf(Quantization, 'QuantizationList');

export const QuantizationParams = z.strictObject({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' } }),
  quantization_id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'quantization_id', in: 'path' } }),
});
