/**
 * Pinning and residency, between the edge and its backends: which adapters a backend must keep loaded (the pins
 * the edge hands each backend in its heartbeat answer) and what a backend has loaded (its signed
 * `GET /internal/v1/residency`, which the operator's `GET /admin/v1/residency` gathers from every backend).
 */
import { z } from '@hono/zod-openapi';
import { Routing } from './routed-target.ts';

/** Adapters one tenant may pin at once (the edge's MAX_PINNED_ADAPTERS overrides it). */
export const DEFAULT_MAX_PINNED_ADAPTERS = 8;

/**
 * The pins a backend is to hold: each pinned adapter whose routing key hashes to this backend first among the
 * fresh ones, as the routed target a completion through it would carry, so the backend loads exactly that.
 */
export const PinnedTargets = z.array(Routing).max(10_000);
export type PinnedTargets = z.infer<typeof PinnedTargets>;

const LastUsed = z
  .number()
  .int()
  .nullable()
  .openapi({ description: 'Unix milliseconds of the last request that used it here; null while it loads.' });

export const ResidentModel = z
  .object({
    id: z.string().openapi({ description: 'The base model id, with `@int8`/`@int4` (and the quantization id) for a quantized variant.' }),
    bytes: z.number().int().openapi({ description: 'Bytes of weights as served (float32, or packed int8/int4).' }),
    last_used_at: LastUsed,
    loading: z.boolean(),
  })
  .openapi('ResidentModel');

export const ResidentAdapter = z
  .object({
    id: z
      .string()
      .openapi({ description: 'The adapter id; `merge:<id>:mean`, `merge:<id>/<adapter>` or `mix:…` for what the backend rebuilt.' }),
    bytes: z.number().int().nullable().openapi({ description: 'Bytes of its factors (float32); null while it loads.' }),
    last_used_at: LastUsed,
    pinned: z.boolean(),
  })
  .openapi('ResidentAdapter');

/** What one backend has loaded (its signed GET /internal/v1/residency). */
export const BackendResidency = z
  .object({
    models: z.array(ResidentModel),
    adapters: z.array(ResidentAdapter),
  })
  .openapi('BackendResidency');
export type BackendResidency = z.infer<typeof BackendResidency>;
