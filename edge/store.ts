import { ObjectStore } from '../contracts/storage/object-store.ts';
import type { Env } from './env.ts';

export function createStore(env: Env): ObjectStore {
  return new ObjectStore({
    endpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET,
    region: env.S3_REGION,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
  });
}

/** Every artifact of a tenant lives under its own prefix; base models may not point inside one. */
export const TENANTS_PREFIX = 'tenants/';

export function tenantPrefix(tenantId: string): string {
  return `${TENANTS_PREFIX}${tenantId}/`;
}

/**
 * A key prefix that names the same keys however it travels to the store: a URL path on the way to S3 resolves
 * "." and ".." segments and reads "\" as "/" and "%" as an escape, so `./tenants/x/` would reach `tenants/x/`.
 * Hence names of printable ASCII without those, separated by single "/", none "." or "..", ending in "/".
 */
export const PLAIN_KEY_PREFIX = /^(?:(?!\.\.?\/)[!"$&-.0-9:->@-[\]-~]+\/)+$/;
export const PLAIN_KEY_PREFIX_RULE =
  'a key prefix in the bucket ending in "/": names separated by single "/", none of them "." or "..", without spaces, "%", "\\", "?" or "#"';
