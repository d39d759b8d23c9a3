import { z } from '@hono/zod-openapi';
import { ADAPTER_SOURCES, ADAPTER_STATUSES } from '../../schema/index.ts';
import { ADAPTER_FILES } from '../adapters/files.ts';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { Name, NameOrId, Sha256Hex, listOf } from './common.ts';

const FileName = z.enum(ADAPTER_FILES);

export const DeclaredFile = z.strictObject({
  filename: FileName,
  bytes: z.number().int().min(1).openapi({ description: 'Exact size; presigned URLs accept only this many bytes.' }),
  sha256: Sha256Hex.optional().openapi({ description: 'If given, the commit refuses a file with another SHA-256.' }),
});

export const CreateAdapterRequest = z
  .strictObject({
    name: Name.openapi({
      description:
        'A new name, or the name of one of your adapters of this base: the upload is then its next version, which the name serves once committed.',
    }),
    base_model: NameOrId.openapi({ description: 'Name or id of one of your base models.' }),
    files: z
      .array(DeclaredFile)
      .length(2)
      .refine((fs) => new Set(fs.map((f) => f.filename)).size === 2, 'list adapter_config.json and adapter_model.safetensors once each')
      .openapi({ description: 'The two PEFT files, as `save_pretrained` writes them.' }),
  })
  .openapi('CreateAdapterRequest');

export const Adapter = z
  .object({
    id: z.string(),
    object: z.literal('adapter'),
    name: z.string(),
    version: z.number().int().openapi({ description: '1, 2, … per name: an upload to an existing name makes its next version.' }),
    current: z.boolean().openapi({ description: 'Whether the bare name serves this version (`<name>@v<n>` calls any version).' }),
    base_model: z.string().openapi({ description: 'Name of the base model.' }),
    model: z.string().nullable().openapi({
      description: 'What to pass as `model` for inference, once ready: `<base>:<name>` while current, else `<base>:<name>@v<n>`.',
    }),
    status: z.enum(ADAPTER_STATUSES),
    rejection: z.object({ code: z.string(), message: z.string() }).nullable(),
    rank: z.number().int().nullable(),
    target_modules: z.array(z.string()).nullable(),
    size_bytes: z.number().int().nullable(),
    sha256: z.string().nullable(),
    source: z.enum(ADAPTER_SOURCES),
    source_id: z.string().nullable(),
    created_at: UnixSeconds,
    ready_at: UnixSeconds.nullable(),
    pinned: z.boolean().openapi({
      description:
        'Kept loaded on the backend its requests route to, and on the next one when routing moves (POST /v1/adapters/{id}/pin; DELETE to unpin).',
    }),
  })
  .openapi('Adapter');

export const AdapterList = listOf(Adapter, 'AdapterList');

const HttpRequest = z.object({ method: z.enum(['PUT', 'GET', 'POST']), url: z.string(), headers: z.record(z.string(), z.string()) });

export const UploadTarget = z
  .object({
    filename: FileName,
    bytes: z.number().int(),
    presigned: HttpRequest.openapi({ description: 'Send the file straight to object storage with exactly these headers.' }),
    edge: HttpRequest.nullable().openapi({ description: 'Or stream it through the edge (small files only); needs your API key.' }),
  })
  .openapi('UploadTarget');

export const CreatedAdapter = z
  .object({
    adapter: Adapter,
    upload: z.object({ expires_at: UnixSeconds, files: z.array(UploadTarget), commit: HttpRequest }),
  })
  .openapi('CreatedAdapter');

export const FileParams = z.strictObject({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' } }),
  filename: FileName.openapi({ param: { name: 'filename', in: 'path' } }),
});

export const VersionParams = z.strictObject({
  id: NameOrId.openapi({ param: { name: 'id', in: 'path' }, description: 'The adapter name, or the id of any of its versions.' }),
  version: z
    .string()
    .regex(/^v?[1-9]\d{0,8}$/, 'must be a version number, such as 2 or v2')
    .transform((v) => Number(v.replace('v', '')))
    .openapi({ param: { name: 'version', in: 'path' }, type: 'string', example: '1' }),
});

export const UploadedFile = z.object({ filename: FileName, bytes: z.number().int() }).openapi('UploadedFile');

export const AdapterDownload = z
  .object({
    adapter_id: z.string(),
    expires_at: UnixSeconds,
    files: z.array(z.object({ filename: FileName, bytes: z.number().int(), url: z.string() })),
  })
  .openapi('AdapterDownload');
