/**
 * Three callers, three credentials: tenants (API keys, stored hashed), backends (each its own credential,
 * stored hashed and bound to its backend_id), and the operator (ADMIN_TOKEN), each checked by its own middleware.
 */
import { eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { apiKeys, backendCredentials } from '../../schema/index.ts';
import type { AppEnv, Env } from '../env.ts';
import { ApiError } from '../errors.ts';
import { secretMatches, sha256Hex } from '../../contracts/api/shared-secret.ts';
import { requestCaches } from '../request-caches.ts';
import { bearerToken } from './secrets.ts';

export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c);
  if (token === null) {
    throw new ApiError(401, 'missing_api_key', 'No API key: send it in the header "Authorization: Bearer <your rankgate API key>".');
  }
  if (token === '')
    throw new ApiError(401, 'invalid_authorization', 'The Authorization header must read "Bearer <your rankgate API key>".');
  const hash = await sha256Hex(token);
  const keys = requestCaches(c.env).apiKeys;
  let tenantId = keys.get(hash);
  if (tenantId === undefined) {
    const [key] = await c.var.db
      .select({ tenantId: apiKeys.tenantId, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hash))
      .limit(1);
    if (!key) throw new ApiError(401, 'invalid_api_key', 'This API key is not valid; check that you copied it whole, or create a new one.');
    if (key.revokedAt !== null)
      throw new ApiError(
        401,
        'revoked_api_key',
        'This API key was revoked; use another key of your tenant or create a new one (POST /v1/api-keys).',
      );
    tenantId = key.tenantId;
    keys.set(hash, tenantId);
  }
  c.set('tenantId', tenantId);
  await next();
};

/** A backend's own credential: the request then acts as the backend_id it is bound to, and no other. */
export const requireBackendCredential: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c);
  const [credential] = token
    ? await c.var.db
        .select({ backendId: backendCredentials.backendId, revokedAt: backendCredentials.revokedAt })
        .from(backendCredentials)
        .where(eq(backendCredentials.tokenHash, await sha256Hex(token)))
        .limit(1)
    : [];
  if (!credential) {
    throw new ApiError(
      401,
      'invalid_credentials',
      'This route is for rankgate backends: send "Authorization: Bearer <BACKEND_TOKEN>", the credential the operator issued for this backend (POST /admin/v1/backend-credentials).',
    );
  }
  if (credential.revokedAt !== null) {
    throw new ApiError(
      401,
      'revoked_credentials',
      'This backend credential was revoked; ask the operator for a new one (POST /admin/v1/backend-credentials) and set it as BACKEND_TOKEN.',
    );
  }
  c.set('backendId', credential.backendId);
  await next();
};

export const requireAdminToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c);
  if (!token || !(await secretMatches(token, (c.env as Env).ADMIN_TOKEN))) {
    throw new ApiError(401, 'invalid_credentials', 'This route is for the operator: send "Authorization: Bearer <ADMIN_TOKEN>".');
  }
  await next();
};
