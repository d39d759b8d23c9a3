/**
 * Jobs: the units of work the edge leases to backends, and the timing of those leases. A backend renews a
 * lease well before it runs out; one that stops renewing (crashed, cut off) loses it, and the job is claimable
 * again. Both sides read the timing from here: the edge answers heartbeats with its lease length, and a
 * backend assumes this default until its first heartbeat is answered.
 */
export const JOB_KINDS = ['fine_tuning', 'merge', 'compression', 'revert', 'quantization'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Quantization widths a compression can produce (16: none) and the group size it quantizes with. */
export const COMPRESSION_BITS = [4, 8, 16] as const;
export const COMPRESSION_GROUP_SIZE = 32;

/**
 * A base model's weights quantized once for serving as `<base>@int4` / `<base>@int8` (engine/packed-weights.ts):
 * the widths are the servable ones (routed-target.ts), the group sizes those MatMulNBits runs fast.
 */
export const QUANTIZATION_GROUP_SIZES = [32, 64, 128] as const;
/**
 * 128: onnxruntime's int4 MatMulNBits kernel (int8 activations) is compute-bound at groups of 32 on the CPU, and
 * needs 1.6-1.8x less CPU per weight at 128 (engine/README.md, "Where a decode step's time goes"); at 8 bits 1.15x.
 * Smaller groups drift less (the tiny fixture's int4 logits: 0.69-0.82 max |Δ| over 32/64/128) and stay a request away.
 */
export const DEFAULT_QUANTIZATION_GROUP_SIZE = 128;

/** Seconds a claimed job stays leased without a renewal (the edge's LEASE_TTL_S overrides it). */
export const LEASE_TTL_S = 120;

/** Seconds a backend stays routable after its last heartbeat (the edge's HEARTBEAT_TTL_S overrides it). */
export const HEARTBEAT_TTL_S = 30;

/** Renewals come four times per lease (between 1 s and 30 s apart), so one lost renewal never loses a lease. */
export function renewEveryMs(leaseTtlS: number): number {
  return Math.max(1000, Math.min((leaseTtlS * 1000) / 4, 30_000));
}

/**
 * Where the edge wakes backends when it queues a job (POST, signed like every edge request, empty body): an idle
 * backend claims at once instead of at its next poll (TASK_POLL_MS), which stays as the fallback when a wake is lost.
 */
export const JOB_WAKE_PATH = '/internal/v1/tasks/wake';
/** A wake is one signed POST to each of at most this many backends, the freshest first; only one of them wins the claim. */
export const JOB_WAKE_MAX_BACKENDS = 16;
/** Milliseconds the edge waits for a backend to take a wake (or a cancel push) before giving it up. */
export const BACKEND_PUSH_TIMEOUT_MS = 2000;
