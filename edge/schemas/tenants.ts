import { z } from '@hono/zod-openapi';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { Name } from './common.ts';

export const CreateTenantRequest = z.strictObject({ name: Name }).openapi('CreateTenantRequest');

export const Tenant = z
  .object({ id: z.string(), object: z.literal('tenant'), name: z.string(), created_at: UnixSeconds })
  .openapi('Tenant');

export const ApiKey = z
  .object({
    id: z.string(),
    object: z.literal('api_key'),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the key, to tell keys apart.' }),
    created_at: UnixSeconds,
    revoked_at: UnixSeconds.nullable(),
  })
  .openapi('ApiKey');

/** Only the answer to creating a key carries the key itself; it is not stored and cannot be shown again. */
export const NewApiKey = ApiKey.extend({ key: z.string() }).openapi('NewApiKey');

export const CreatedTenant = z.object({ tenant: Tenant, api_key: NewApiKey }).openapi('CreatedTenant');

export const CreateApiKeyRequest = z.strictObject({ name: Name }).openapi('CreateApiKeyRequest');
