/** Bearer tokens: reading them and generating API keys and backend credentials (comparing them: contracts/api/shared-secret.ts). */
import type { Context } from 'hono';

export function bearerToken(c: Context): string | null {
  const header = c.req.header('authorization');
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : '';
}

/** A prefix and 32 random bytes in base64url: unguessable, so storing its SHA-256 is enough. */
function newToken(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `${prefix}${btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '')}`;
}

/** A tenant's API key. */
export const newApiKey = () => newToken('rg-');

/** A backend's credential (BACKEND_TOKEN). */
export const newBackendToken = () => newToken('rgb-');
