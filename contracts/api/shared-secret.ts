/**
 * Secrets compared without leaking their length or prefix (the operator's ADMIN_TOKEN), and the SHA-256 under
 * which API keys and backend credentials are stored. Web Crypto only, so the same code runs in Workers and in Node.
 */
import { toHex } from '../formats/hex.ts';

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return toHex(digest);
}

/** Compares digests, not the secrets, so the comparison's time says nothing about how much matched. */
export async function secretMatches(given: string, expected: string): Promise<boolean> {
  if (!expected) return false;
  const [a, b] = await Promise.all([sha256Hex(given), sha256Hex(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
