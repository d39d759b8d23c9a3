import { z } from '@hono/zod-openapi';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { listOf } from './common.ts';

export const UploadFileForm = z
  .strictObject({
    file: z
      .custom<File>((v) => v instanceof File, 'must be a file part (multipart/form-data with a filename)')
      .openapi({
        type: 'string',
        format: 'binary',
        description: 'JSONL: one {"prompt","completion"} or {"messages": [...]} object per line.',
      }),
    purpose: z.literal('fine-tune'),
  })
  .openapi('UploadFileForm');

export const FileObject = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: UnixSeconds,
    filename: z.string(),
    purpose: z.literal('fine-tune'),
    status: z.literal('processed'),
    examples: z.number().int().openapi({ description: 'Training examples (non-blank lines) in the file.' }),
  })
  .openapi('File');

export const FileList = listOf(FileObject, 'FileList');
