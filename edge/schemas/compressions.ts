import { z } from '@hono/zod-openapi';
import { BACKEND_JOB_STATUSES } from '../../schema/index.ts';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { Name, listOf } from './common.ts';

export const CreateCompressionRequest = z
  .strictObject({
    adapter: z.string().min(1).openapi({ description: 'Name or id of a ready adapter.' }),
    name: Name.optional().openapi({ description: 'Name of the compressed adapter (default: "<adapter>-c<bits>").' }),
    rank: z.number().int().min(1).max(256).optional().openapi({ description: 'Truncate to this rank.' }),
    energy: z.number().gt(0).max(1).optional().openapi({ description: 'Or keep this fraction of the spectral energy.' }),
    budget_bytes: z.number().int().min(1024).optional().openapi({ description: 'Or fit the result in this many bytes.' }),
    bits: z
      .union([z.literal(2), z.literal(3), z.literal(4), z.literal(8), z.literal(16)])
      .default(16)
      .openapi({ description: 'Group-wise quantization width (16: none).' }),
  })
  .refine((r) => [r.rank, r.energy, r.budget_bytes].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of rank, energy or budget_bytes',
    path: ['rank'],
  })
  .openapi('CreateCompressionRequest');

export const Compression = z
  .object({
    id: z.string(),
    object: z.literal('compression'),
    name: z.string(),
    source_adapter_id: z.string(),
    rank: z.number().int().nullable(),
    energy: z.number().nullable(),
    budget_bytes: z.number().int().nullable(),
    bits: z.number().int(),
    status: z.enum(BACKEND_JOB_STATUSES),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    result_adapter_id: z.string().nullable(),
    created_at: UnixSeconds,
    finished_at: UnixSeconds.nullable(),
  })
  .openapi('Compression');

export const CompressionList = listOf(Compression, 'CompressionList');
