import { z } from '@hono/zod-openapi';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { BackendId } from '../../contracts/api/internal-api.ts';

export const CreateBackendCredentialRequest = z
  .strictObject({
    backend_id: BackendId.optional().openapi({
      description:
        'The backend this credential acts as (its BACKEND_ID); a new id when omitted. Issuing another for the same id rotates: both work until one is revoked.',
    }),
  })
  .openapi('CreateBackendCredentialRequest');

export const BackendCredential = z
  .object({
    id: z.string(),
    object: z.literal('backend_credential'),
    backend_id: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the token, to tell credentials apart.' }),
    created_at: UnixSeconds,
    revoked_at: UnixSeconds.nullable(),
  })
  .openapi('BackendCredential');

/** Only the answer to issuing carries the token itself; it is not stored and cannot be shown again. */
export const NewBackendCredential = BackendCredential.extend({
  token: z.string().openapi({ description: "The backend's BACKEND_TOKEN (shown once)." }),
}).openapi('NewBackendCredential');

export const BackendCredentialList = z
  .object({ object: z.literal('list'), data: z.array(BackendCredential) })
  .openapi('BackendCredentialList');
