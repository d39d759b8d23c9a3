/**
 * Three callers, three credentials: tenants (API keys, stored hashed), backends (the shared BACKEND_SECRET),
 * and the operator (ADMIN_TOKEN), each checked by its own middleware.
 */
import { eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { apiKeys } from '../../schema/index.ts';
import type { AppEnv, Env } from '../env.ts';
import { ApiError } from '../errors.ts';
import { secretMatches, sha256Hex } from '../../contracts/api/shared-secret.ts';
import { bearerToken } from './secrets.ts';

export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c);
  if (token === null) {
    throw new ApiError(401, 'missing_api_key', 'No API key: send it in the header "Authorization: Bearer <your rankgate API key>".');
  }
  if (token === '')
    throw new ApiError(401, 'invalid_authorization', 'The Authorization header must read "Bearer <your rankgate API key>".');
  const [key] = await c.var.db
    .select({ tenantId: apiKeys.tenantId, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, await sha256Hex(token)))
    .limit(1);
  if (!key) throw new ApiError(401, 'invalid_api_key', 'This API key is not valid; check that you copied it whole, or create a new one.');
  if (key.revokedAt !== null)
    throw new ApiError(
      401,
      'revoked_api_key',
      'This API key was revoked; use another key of your tenant or create a new one (POST /v1/api-keys).',
    );
  c.set('tenantId', key.tenantId);
  await next();
};

function requireSecret(which: 'BACKEND_SECRET' | 'ADMIN_TOKEN', who: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c);
    if (!token || !(await secretMatches(token, (c.env as Env)[which]))) {
      throw new ApiError(401, 'invalid_credentials', `This route is for ${who}: send "Authorization: Bearer <${which}>".`);
    }
    await next();
  };
}

export const requireBackendSecret = requireSecret('BACKEND_SECRET', 'rankgate backends');
export const requireAdminToken = requireSecret('ADMIN_TOKEN', 'the operator');
