/**
 * What the Worker is given (wrangler.toml [vars], secrets, the D1 binding) and what middleware puts on the
 * request context for the handlers.
 */
import type { ObjectStore } from '../contracts/storage/object-store.ts';
import type { Db } from './db.ts';

export interface Env {
  DB: D1Database;
  /** S3 API endpoint of the artifact store (R2, S3, MinIO, s3rver); presigned URLs point at it too. */
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION?: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  /** Bearer token of the operator, who creates tenants. */
  ADMIN_TOKEN: string;
  /**
   * The edge's Ed25519 signing key (a 32-byte seed, base64url): requests it forwards to backends are signed
   * with it (contracts/api/edge-signature.ts). Backends authenticate with their own credentials (POST /admin/v1/backend-credentials).
   */
  EDGE_SIGNING_KEY?: string;
  /** "true" lets heartbeats name loopback, private and link-local backend URLs: for local development only (default: refused). */
  ALLOW_PRIVATE_BACKEND_URLS?: string;
  /** Seconds after its last heartbeat that a backend still receives inference traffic (default: HEARTBEAT_TTL_S in contracts/api/jobs.ts). */
  HEARTBEAT_TTL_S?: string;
  /** Seconds a claimed job stays leased without a renewal (default: LEASE_TTL_S in contracts/api/jobs.ts). */
  LEASE_TTL_S?: string;
  /**
   * Milliseconds an isolate may reuse an API key's tenant, a model's resolution and the backend list before
   * reading D1 again (default: DEFAULT_CACHE_TTL_MS in contracts/api/routed-target.ts; "0" turns caching off).
   */
  EDGE_CACHE_TTL_MS?: string;
  /** The most total rank (Σ rᵢ) a request's `adapters` may mix (default: DEFAULT_MAX_MIX_RANK in contracts/api/openai.ts). */
  MAX_MIX_RANK?: string;
  /** Adapters one tenant may pin at once (default: DEFAULT_MAX_PINNED_ADAPTERS in contracts/api/residency.ts). */
  MAX_PINNED_ADAPTERS?: string;
}

export interface AppVariables {
  db: Db;
  store: ObjectStore;
  /** Set by the API-key middleware: every tenant route reads and writes only this tenant's rows. */
  tenantId: string;
  /** Set by the backend middleware: the backend_id its credential is bound to, the only one it may act as. */
  backendId: string;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };

export function numberVar(value: string | undefined, fallback: number): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
