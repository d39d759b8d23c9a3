/**
 * What a merge, revert or compression job leaves under its output prefix, written by a backend and checked by
 * the edge before the job may succeed (and by whoever serves the result). Data files come first; the artifact
 * manifest is written last and lists every file with its size and SHA-256, so a job that died half-way (no
 * manifest, or files that do not match it) never looks done. A new attempt removes the manifest before it writes.
 *
 * Layouts, relative to the output prefix:
 * - `peft_adapter` (collapsed merges, reverts, compressions): `adapter/adapter_config.json` and
 *   `adapter/adapter_model.safetensors` (float32, what every PEFT reader loads); a quantized compression adds
 *   `adapter/adapter_model.quantized.safetensors` (MatMulNBits layout, see gpu-backend/lowrank/quantize-file.ts).
 * - `reversible_basis` (rmm_* merges): `basis.json` (the merge's manifest) and `basis.safetensors` (its F32
 *   tensors `<module path>.<part>`, F16 where the manifest's float_bits is 16); member tasks are named by adapter id.
 * - `quantized_base` (quantizations): `packed_weights.safetensors`, every projection's and the LM head's
 *   MatMulNBits codes, scales and zero points, with the bits and group size in its metadata.
 */
import { z } from 'zod';

export const ARTIFACT_MANIFEST = 'artifact.json';
export const ARTIFACT_FORMAT = 'rankgate-artifact';

export const ADAPTER_DIR = 'adapter/';
export const QUANTIZED_ADAPTER_FILE = 'adapter_model.quantized.safetensors';
export const BASIS_MANIFEST = 'basis.json';
export const BASIS_TENSORS = 'basis.safetensors';
/** A quantized base's packed MatMulNBits weights (gpu-backend/engine/packed-weights.ts). */
export const PACKED_WEIGHTS_FILE = 'packed_weights.safetensors';

/** The `format` of a reversible merge's basis.json. */
export const REVERSIBLE_MERGE_FORMAT = 'rankgate-reversible-merge';

/**
 * Bits per stored value of a reversible merge's parts: float32 (F32 tensors, the default) or IEEE half (F16: half
 * the bytes; each value rounded to 11 significant bits). The manifest's `float_bits` says which (absent: 32).
 */
export const REVERSIBLE_FLOAT_BITS = [32, 16] as const;
export type ReversibleFloatBits = (typeof REVERSIBLE_FLOAT_BITS)[number];

export const ARTIFACT_LAYOUTS = ['peft_adapter', 'reversible_basis', 'quantized_base'] as const;
export type ArtifactLayout = (typeof ARTIFACT_LAYOUTS)[number];

/** Files an artifact may list (a handful per layout). */
const MAX_ARTIFACT_FILES = 16;

export const ArtifactFile = z.strictObject({
  /** Relative to the output prefix, e.g. `adapter/adapter_model.safetensors`. */
  name: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/)
    .refine((n) => !n.split('/').includes('..'), 'no ".." segments'),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * The file's MD5, which S3-compatible stores (S3, R2, MinIO, s3rver) compute as a single-part object's ETag: the
   * edge compares the two instead of reading the file again (edge/jobs/artifact-check.ts). Absent in older artifacts.
   */
  md5: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
});
export type ArtifactFile = z.infer<typeof ArtifactFile>;

export const ArtifactManifest = z.strictObject({
  format: z.literal(ARTIFACT_FORMAT),
  version: z.literal(1),
  job_id: z.string().min(1),
  layout: z.enum(ARTIFACT_LAYOUTS),
  files: z.array(ArtifactFile).min(1).max(MAX_ARTIFACT_FILES),
});
export type ArtifactManifest = z.infer<typeof ArtifactManifest>;

/** The parts of a reversible merge's basis.json the edge checks against the merge it claims to be. */
export const BasisManifest = z.object({
  format: z.literal(REVERSIBLE_MERGE_FORMAT),
  version: z.literal(1),
  construction: z.string(),
  basis_size: z.number().int().min(1),
  /** Absent in merges written before float16 parts existed: 32. */
  float_bits: z.union(REVERSIBLE_FLOAT_BITS.map((b) => z.literal(b)) as unknown as [z.ZodLiteral<32>, z.ZodLiteral<16>]).optional(),
  tasks: z.array(z.object({ name: z.string(), paths: z.array(z.string()) })).min(1),
  modules: z.array(
    z.object({ path: z.string(), out: z.number().int().min(1), in: z.number().int().min(1), parts: z.array(z.string()).min(1) }),
  ),
});
export type BasisManifest = z.infer<typeof BasisManifest>;
