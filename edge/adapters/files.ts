/** The PEFT files an adapter is made of, their limits, and where they live in the bucket. */
export const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'] as const;
export type AdapterFile = (typeof ADAPTER_FILES)[number];

export const MAX_FILE_BYTES: Record<AdapterFile, number> = {
  'adapter_config.json': 64 * 1024,
  // One presigned PUT carries at most 5 GiB (the S3 limit for a single PutObject).
  'adapter_model.safetensors': 5 * 1024 ** 3,
};

/**
 * The largest safetensors header the edge reads for an adapter. Two tensors per module, seven projections per
 * layer, 1024 layers take under 3 MB; the format's own 100 MB cap would not fit in a Worker's memory.
 */
export const MAX_ADAPTER_HEADER_BYTES = 8 * 1024 * 1024;

/** Files up to this size may also be PUT through the edge (a Worker streams them on to the bucket). */
export const EDGE_PUT_MAX_BYTES = 64 * 1024 * 1024;

export const UPLOAD_URL_TTL_S = 3600;

/** Clients upload beside the adapter's prefix; commit copies into the prefix, where no upload URL points. */
export function uploadKey(prefix: string, file: AdapterFile): string {
  return `${prefix}upload/${file}`;
}

export function committedKey(prefix: string, file: AdapterFile): string {
  return `${prefix}${file}`;
}
