/**
 * A backend acts only as itself: the backend_id a body names must be the one its credential is bound to
 * (set by requireBackendCredential). Naming another backend is refused outright, not treated as a lost lease.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

export function ownBackendId(c: Context<AppEnv>, named: string): string {
  const own = c.var.backendId;
  if (named !== own) {
    throw new ApiError(
      403,
      'backend_id_mismatch',
      `This credential belongs to backend "${own}"; send backend_id "${own}" (a backend acts only as itself; set BACKEND_ID to match the credential).`,
      'backend_id',
    );
  }
  return own;
}
