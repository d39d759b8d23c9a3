import { z } from '@hono/zod-openapi';
import { UnixSeconds } from '../../contracts/api/fields.ts';
import { BackendId } from '../../contracts/api/internal-api.ts';
import { BackendResidency } from '../../contracts/api/residency.ts';

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

export const BackendResidencyEntry = z
  .object({
    object: z.literal('backend_residency'),
    backend_id: z.string(),
    url: z.string(),
    last_heartbeat_at: z.number().int().openapi({ description: 'Unix milliseconds of its last heartbeat.' }),
    in_flight: z.number().int(),
    capacity: z.number().int(),
    residency: BackendResidency.nullable().openapi({ description: 'What it has loaded; null when it did not answer (see `error`).' }),
    error: z.string().nullable().openapi({ description: 'Why the backend gave no residency (unreachable, timed out, an error status).' }),
  })
  .openapi('BackendResidencyEntry');

export const ResidencyList = z.object({ object: z.literal('list'), data: z.array(BackendResidencyEntry) }).openapi('ResidencyList');
