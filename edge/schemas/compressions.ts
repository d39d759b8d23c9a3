import { z } from '@hono/zod-openapi';
import { BACKEND_JOB_STATUSES } from '../../schema/index.ts';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { CompressionResult } from '../../contracts/api/internal-api.ts';
import { COMPRESSION_BITS, COMPRESSION_GROUP_SIZE } from '../../contracts/api/jobs.ts';
import { Name, listOf, NameOrId } from './common.ts';

export const CreateCompressionRequest = z
  .strictObject({
    adapter: NameOrId.openapi({ description: 'Name or id of a ready adapter.' }),
    name: Name.optional().openapi({ description: 'Name of the compressed adapter (default: "<adapter>-c<bits>").' }),
    rank: z.number().int().min(1).max(256).optional().openapi({ description: 'Truncate to this rank.' }),
    energy: z.number().gt(0).max(1).optional().openapi({ description: 'Or keep this fraction of the spectral energy.' }),
    budget_bytes: z.number().int().min(1024).optional().openapi({ description: 'Or fit the result in this many bytes.' }),
    bits: z
      .number()
      .refine((b) => (COMPRESSION_BITS as readonly number[]).includes(b), {
        message: `give ${COMPRESSION_BITS.join(', ')} (16: no quantization); backends make int4 and int8 factors only`,
      })
      .default(16)
      .openapi({
        description: `Quantize the factors group-wise (${COMPRESSION_GROUP_SIZE} values per scale) to ${COMPRESSION_BITS.slice(0, -1).join(' or ')} bits; 16: no quantization.`,
      }),
  })
  .superRefine((r, ctx) => {
    const targets = [r.rank, r.energy, r.budget_bytes].filter((v) => v !== undefined).length;
    if (targets > 1) ctx.addIssue({ code: 'custom', path: ['rank'], message: 'give at most one of rank, energy or budget_bytes' });
    if (targets === 0 && r.bits === 16)
      ctx.addIssue({
        code: 'custom',
        path: ['rank'],
        message: 'nothing to do: give one of rank, energy or budget_bytes, or bits 4 or 8 (or both)',
      });
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
    result: CompressionResult.nullable().openapi({
      description: 'Once succeeded: per-module error and rank, and bytes before and after, as the backend measured them.',
    }),
    created_at: UnixSeconds,
    finished_at: UnixSeconds.nullable(),
  })
  .openapi('Compression');

export const CompressionList = listOf(Compression, 'CompressionList');
