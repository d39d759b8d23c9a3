/**
 * What the edge adds to a client's completion request before it forwards it to a backend: the tenant, and the
 * target the `model` string resolved to, named by storage prefix so the backend knows what to load.
 */
import { z } from 'zod';

/**
 * How long (ms) the edge may reuse what a `model` string resolved to before reading D1 again (its
 * EDGE_CACHE_TTL_MS setting overrides it): a promote or a new version of an adapter reaches every request within
 * this. A resolved target names an adapter version by its own id and storage prefix, which never change, so a
 * request keeps the version it resolved however long it runs, and backends, which cache adapters by id, hold no
 * name-to-version mapping that could go stale.
 */
export const DEFAULT_CACHE_TTL_MS = 2000;

export const TARGET_KINDS = ['base', 'adapter', 'merge', 'merge_task', 'mix'] as const;

/**
 * Weight widths a base model can be served at besides float32, named in model ids as `<base>@int8` or
 * `<base>@int4` (group-wise, through onnxruntime's MatMulNBits; adapters apply on top unchanged).
 */
export const SERVED_WEIGHT_BITS = [8, 4] as const;
export type ServedWeightBits = (typeof SERVED_WEIGHT_BITS)[number];

const Ref = z.object({ id: z.string(), name: z.string(), storage_prefix: z.string() });

export const RoutedTarget = z.object({
  kind: z.enum(TARGET_KINDS),
  base_model: Ref,
  /** The adapter (kind adapter), or the member task reverted from a merge (kind merge_task). */
  adapter: Ref.extend({ rank: z.number().int().nullable() }).nullable(),
  /** The merge served (kinds merge and merge_task). */
  merge: Ref.extend({ method: z.string() }).nullable(),
  /** The adapters a request mixes (kind mix), each with its weight: served as Σ wᵢ·ΔWᵢ. */
  mix: z.array(Ref.extend({ rank: z.number().int().nullable(), weight: z.number() })).nullish(),
  /** The base model's weights served at this width (`<base>@int8`), or float32 (null). */
  weight_bits: z
    .union(SERVED_WEIGHT_BITS.map((b) => z.literal(b)) as [z.ZodLiteral<8>, z.ZodLiteral<4>])
    .nullable()
    .default(null),
  /**
   * With weight_bits: the quantization job whose stored packed weights to load (its output prefix holds
   * contracts/formats/job-artifacts.ts's quantized_base layout). Null: the backend quantizes at load (direct calls only).
   */
  quantized_weights: z.object({ id: z.string(), storage_prefix: z.string() }).nullable().default(null),
});
export type RoutedTarget = z.infer<typeof RoutedTarget>;

/** The `rankgate` field of a forwarded request body. */
export const Routing = z.object({ tenant_id: z.string(), target: RoutedTarget });
export type Routing = z.infer<typeof Routing>;
