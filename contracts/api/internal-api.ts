/**
 * The contract between the edge and its backends (routes under /internal, each backend's own credential as
 * bearer token, bound to its backend_id: see edge/auth/backend.ts): heartbeats, and jobs claimed, renewed, reported on and finished under a lease. The wire keeps its first
 * names (`/internal/v1/tasks/...`, `{"task": ...}`, the TaskSpec and TaskState schemas), which deployed
 * backends call; in code these are jobs.
 */
import { z } from '@hono/zod-openapi';
import { UnixSeconds } from './fields.ts';
import { Hyperparameters } from './hyperparameters.ts';
import { JOB_KINDS } from './jobs.ts';
import { MERGE_METHODS } from './merge-methods.ts';
import { PinnedTargets } from './residency.ts';

function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).byteLength;
}

export const BackendId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"');

export const Heartbeat = z
  .strictObject({
    backend_id: BackendId,
    url: z.url({ protocol: /^https?$/ }).openapi({ description: 'Where the edge reaches this backend (inference, cancel).' }),
    capacity: z.number().int().min(0).openapi({ description: 'Concurrent inference requests it takes.' }),
    in_flight: z.number().int().min(0).openapi({ description: 'Requests it is serving now; at capacity it gets none.' }),
    loaded_adapters: z.array(z.string()).max(10_000).default([]),
    boot_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional()
      .openapi({
        description:
          'New at every start of the backend: the edge signs what it forwards for this boot, so a request signed before a restart is not served after it (contracts/api/edge-signature.ts).',
      }),
  })
  .openapi('Heartbeat');

export const HeartbeatAck = z
  .object({
    backend_id: z.string(),
    heartbeat_ttl_s: z.number().int(),
    lease_ttl_s: z.number().int(),
    edge_public_key: z.string().nullable().openapi({
      description:
        "The edge's Ed25519 public key (raw, base64url) that signs the requests it forwards (contracts/api/edge-signature.ts); null when the edge has no EDGE_SIGNING_KEY.",
    }),
    pinned: PinnedTargets.default([]).openapi({
      description:
        'The pinned adapters this backend is to keep loaded (exempt from its adapter cache eviction): those whose routing key puts this backend first among the fresh ones. A pin missing from the list is released.',
    }),
  })
  .openapi('HeartbeatAck');

export const JobKind = z.enum(JOB_KINDS);

export const ClaimRequest = z
  .strictObject({
    backend_id: BackendId,
    kinds: z
      .array(JobKind)
      .min(1)
      .default([...JOB_KINDS]),
  })
  .openapi('ClaimRequest');

const BaseRef = z.object({ id: z.string(), name: z.string(), storage_prefix: z.string(), config: z.record(z.string(), z.unknown()) });
const AdapterRef = z.object({ id: z.string(), name: z.string(), storage_prefix: z.string(), rank: z.number().int().nullable() });
const Lease = {
  id: z.string(),
  attempt: z.number().int().openapi({ description: '1 on the first claim; higher after leases expired.' }),
  lease_expires_at: UnixSeconds.nullable(),
  base_model: BaseRef,
  output_prefix: z.string().openapi({ description: 'Write results here; PEFT adapters go to `<output_prefix>adapter/`.' }),
};
const Member = AdapterRef.extend({ weight: z.number().nullable() });

export const JobSpec = z
  .discriminatedUnion('kind', [
    z.object({
      kind: z.literal('fine_tuning'),
      ...Lease,
      training_file: z.object({ id: z.string(), storage_key: z.string() }),
      validation_file: z.object({ id: z.string(), storage_key: z.string() }).nullable(),
      hyperparameters: Hyperparameters,
      seed: z.number().int(),
      suffix: z.string().nullable(),
      resume_from: z.object({ checkpoint_id: z.string(), step: z.number().int(), storage_prefix: z.string() }).nullable(),
    }),
    z.object({
      kind: z.literal('merge'),
      ...Lease,
      method: z.enum(MERGE_METHODS),
      basis_size: z.number().int().nullable(),
      density: z.number().nullable(),
      params: z
        .record(z.string(), z.number())
        .default({})
        .openapi({ description: "The method's parameters that are not basis_size, density or weights (contracts/api/merge-methods.ts)." }),
      members: z.array(Member),
    }),
    z.object({
      kind: z.literal('compression'),
      ...Lease,
      source: AdapterRef,
      rank: z.number().int().nullable(),
      energy: z.number().nullable(),
      budget_bytes: z.number().int().nullable(),
      bits: z.number().int(),
    }),
    z.object({
      kind: z.literal('revert'),
      ...Lease,
      merge: z.object({
        id: z.string(),
        method: z.enum(MERGE_METHODS),
        storage_prefix: z.string(),
        basis_size: z.number().int().nullable(),
        members: z.array(Member),
      }),
      adapter: AdapterRef.openapi({ description: 'The member task to reconstruct.' }),
    }),
    z.object({
      kind: z.literal('quantization'),
      ...Lease,
      bits: z.number().int(),
      group_size: z.number().int(),
    }),
  ])
  .openapi('TaskSpec');

export const ClaimResponse = z.object({ task: JobSpec.nullable() }).openapi('ClaimResponse');

export const JobRefParams = z.strictObject({
  kind: JobKind.openapi({ param: { name: 'kind', in: 'path' } }),
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const FineTuningJobParams = z.strictObject({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const BackendRef = z.strictObject({ backend_id: BackendId }).openapi('BackendRef');

/** Bytes of a completion's `result` as JSON: a report of numbers, kept with the job and shown on its API object. */
export const JOB_RESULT_MAX_BYTES = 128 * 1024;

const RelativeError = z.number().min(0).openapi({ description: '‖ΔW′ − ΔW‖_F / ‖ΔW‖_F over all modules.' });

export const MergeResult = z
  .strictObject({
    tasks: z
      .array(z.strictObject({ adapter_id: z.string().max(128), name: z.string().max(128), relative_error: RelativeError }))
      .max(32)
      .openapi({ description: "Per member: how far the merge (collapsed) or the task rebuilt from it (rmm_*) is from the member's ΔW." }),
    storage_fraction: z
      .number()
      .min(0)
      .openapi({ description: "Floats the merge stores over the floats of keeping every member's factors (1: as large as all of them)." }),
    rank: z.number().int().min(0).nullable().openapi({ description: "Collapsed merges: the result's rank; null for rmm_*." }),
  })
  .openapi('MergeResult');

export const CompressionResult = z
  .strictObject({
    modules: z
      .array(
        z.strictObject({
          path: z.string().max(256),
          from_rank: z.number().int().min(0),
          rank: z.number().int().min(0),
          relative_error: RelativeError.openapi({ description: "This module's ‖ΔW′ − ΔW‖_F / ‖ΔW‖_F (truncation and quantization)." }),
        }),
      )
      .max(8192),
    relative_error: RelativeError,
    bits: z.number().int(),
    bytes_before: z.number().int().min(0).openapi({ description: "The source's float32 factors." }),
    bytes_after: z
      .number()
      .int()
      .min(0)
      .openapi({ description: 'The factors as stored: float32 after truncation, or quantized (weights, scales, zero points).' }),
    storage_ratio: z.number().min(0),
  })
  .openapi('CompressionResult');

export const QuantizationResult = z
  .strictObject({
    bits: z.number().int(),
    group_size: z.number().int(),
    packed_bytes: z
      .number()
      .int()
      .min(0)
      .openapi({ description: 'The stored weights: codes, scales and zero points of every quantized matrix.' }),
  })
  .openapi('QuantizationResult');

export const CompleteRequest = z
  .strictObject({
    backend_id: BackendId,
    trained_tokens: z.number().int().min(0).optional().openapi({ description: 'Fine-tuning only.' }),
    result: z
      .union([MergeResult, CompressionResult, QuantizationResult])
      .optional()
      .superRefine((result, ctx) => {
        const bytes = result === undefined ? 0 : jsonBytes(result);
        if (bytes > JOB_RESULT_MAX_BYTES)
          ctx.addIssue({
            code: 'custom',
            message: `serialized it is ${bytes} bytes; a result may take at most ${JOB_RESULT_MAX_BYTES} bytes (report numbers, not files)`,
          });
      })
      .openapi({ description: `Merges and compressions: what the job measured; at most ${JOB_RESULT_MAX_BYTES} bytes as JSON.` }),
  })
  .openapi('CompleteRequest');

export const FailRequest = z
  .strictObject({ backend_id: BackendId, error: z.strictObject({ code: z.string().min(1).max(64), message: z.string().min(1).max(4000) }) })
  .openapi('FailRequest');

export const JobState = z
  .object({
    id: z.string(),
    kind: JobKind,
    status: z.string(),
    lease_expires_at: UnixSeconds.nullable(),
    cancel_requested: z.boolean().openapi({ description: 'True once the user cancelled: stop, and report nothing more.' }),
  })
  .openapi('TaskState');

/** Bytes of one event's `data`, serialized as JSON: metrics, not logs or artifacts. */
export const EVENT_DATA_MAX_BYTES = 4096;
/** Bytes of a whole events report, serialized as JSON (events are kept in D1 and listed to users). */
export const EVENTS_REPORT_MAX_BYTES = 64 * 1024;

export const EventsReport = z
  .strictObject({
    backend_id: BackendId,
    events: z
      .array(
        z.strictObject({
          level: z.enum(['info', 'warn', 'error']).default('info'),
          type: z.enum(['message', 'metrics']).default('message'),
          message: z.string().min(1).max(2000),
          data: z
            .record(z.string(), z.unknown())
            .optional()
            .superRefine((data, ctx) => {
              const bytes = data === undefined ? 0 : jsonBytes(data);
              if (bytes > EVENT_DATA_MAX_BYTES)
                ctx.addIssue({
                  code: 'custom',
                  message: `serialized it is ${bytes} bytes; an event's data may take at most ${EVENT_DATA_MAX_BYTES} bytes (send metrics, not logs or files)`,
                });
            })
            .openapi({
              description: `e.g. {"step": 10, "train_loss": 1.9, "tokens_per_s": 812}; at most ${EVENT_DATA_MAX_BYTES} bytes as JSON.`,
            }),
        }),
      )
      .min(1)
      .max(100),
  })
  .superRefine((report, ctx) => {
    const bytes = jsonBytes(report);
    if (bytes > EVENTS_REPORT_MAX_BYTES)
      ctx.addIssue({
        code: 'custom',
        path: ['events'],
        message: `the report is ${bytes} bytes as JSON; a report may take at most ${EVENTS_REPORT_MAX_BYTES} bytes (send fewer events per report)`,
      });
  })
  .openapi('EventsReport');

export const CheckpointReport = z
  .strictObject({
    backend_id: BackendId,
    step: z.number().int().min(0),
    train_loss: z.number().optional(),
    valid_loss: z.number().optional(),
    storage_prefix: z.string().min(1).openapi({ description: "Must lie under the task's output_prefix." }),
  })
  .openapi('CheckpointReport');
