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
