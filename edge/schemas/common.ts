/** Shapes shared by the edge's resources: lists, ids, names. */
import { z } from '@hono/zod-openapi';

/** Names users choose for their things: what `model` strings are made of, so no ":" or "/". */
export const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** A field that names one of your things by name or by id: names are at most 64 characters, ids shorter than 128. */
export const NameOrId = z.string().min(1).max(128);

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (a SHA-256)');

export const ListQuery = z.strictObject({
  after: z.string().optional().openapi({ description: 'Cursor: the id of the last object of the previous page.' }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: 'Page size, 1-100 (default 20).' }),
});

export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      object: z.literal('list'),
      data: z.array(item),
      has_more: z.boolean(),
      last_id: z.string().nullable().openapi({ description: 'Pass as `after` for the next page.' }),
    })
    .openapi(name);
}

export const IdParam = z.strictObject({
  id: NameOrId.openapi({ param: { name: 'id', in: 'path' } }),
});

export const Deleted = z.object({ id: z.string(), object: z.string(), deleted: z.literal(true) }).openapi('Deleted');
