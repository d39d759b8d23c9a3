/**
 * Requests the edge forwards to a backend (inference, the cancel push) are signed with the edge's Ed25519
 * key, so a backend serves only what the edge asked for: the signature covers the backend the request is
 * meant for and the boot id that backend announced in its last heartbeat, a timestamp, a random nonce, the method and
 * path, and a SHA-256 of the body (which carries the tenant and the routed target in its `rankgate` field). A backend
 * takes each signature once; the boot id, new at every start, keeps a restarted backend (which has forgotten the
 * signatures it took) from serving one signed before its restart. A backend holds only the public key, so a backend's own credential
 * cannot forge requests to another backend. Web Crypto only: the edge signs in workerd, backends verify in Node.
 *
 * EDGE_SIGNING_KEY (the edge's secret) is the 32-byte Ed25519 seed in base64url; the public key backends
 * verify with is the raw 32-byte key in base64url.
 */
import { sha256Hex } from './shared-secret.ts';

/** Seconds a signature stays valid either side of the verifier's clock; replays and delayed copies beyond it are refused. */
export const EDGE_SIGNATURE_MAX_AGE_S = 30;

export const SIGNATURE_HEADERS = {
  /** The backend_id the request is meant for. */
  backend: 'x-rankgate-for-backend',
  /** The boot id that backend announced in its heartbeat (absent when it announced none). */
  boot: 'x-rankgate-backend-boot',
  /** Unix seconds when the edge signed. */
  timestamp: 'x-rankgate-timestamp',
  /** 16 random bytes, base64url: Ed25519 is deterministic, so this keeps two identical requests' signatures apart (backends take each once). */
  nonce: 'x-rankgate-nonce',
  /** Ed25519 over the canonical text below, base64url. */
  signature: 'x-rankgate-signature',
} as const;

const ED25519 = { name: 'Ed25519' } as const;
/** Spelled through crypto.subtle: the DOM lib (edge) and @types/node (backend) name the key type differently. */
export type VerifyKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
/** PKCS#8 wrapping of a bare Ed25519 seed (RFC 8410): Web Crypto imports private keys only in PKCS#8 or JWK. */
const PKCS8_SEED_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const s = atob(text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

export interface ForwardedRequest {
  /** The backend_id the request is meant for. */
  backendId: string;
  /** The boot id that backend announced in its last heartbeat; absent or empty when it announced none. */
  bootId?: string;
  method: string;
  /** Path and query as the backend sees them, e.g. `/v1/chat/completions`. */
  path: string;
  /** The exact bytes sent (a string is taken as UTF-8). */
  body: Uint8Array | string;
}

const bytesOf = (body: Uint8Array | string) => (typeof body === 'string' ? new TextEncoder().encode(body) : body);

async function canonical(req: ForwardedRequest, timestampS: number, nonce: string): Promise<Uint8Array> {
  const lines = [
    'rankgate-forward-v2',
    req.backendId,
    req.bootId ?? '',
    String(timestampS),
    nonce,
    req.method.toUpperCase(),
    req.path,
    await sha256Hex(bytesOf(req.body)),
  ];
  return new TextEncoder().encode(lines.join('\n'));
}

export interface EdgeSigner {
  /** The public key backends verify with (raw, base64url). */
  publicKey: string;
  /** The headers that sign `req` at `nowMs`. */
  sign(req: ForwardedRequest, nowMs?: number): Promise<Record<string, string>>;
}

/** A fresh key pair: `signingKey` is what EDGE_SIGNING_KEY holds. */
export async function newSigningKey(): Promise<{ signingKey: string; publicKey: string }> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as { privateKey: VerifyKey; publicKey: VerifyKey };
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const publicKey = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  return { signingKey: base64url(pkcs8.slice(PKCS8_SEED_PREFIX.length)), publicKey: base64url(publicKey) };
}

/** The signer for an EDGE_SIGNING_KEY; throws when it is not a base64url 32-byte seed. */
export async function edgeSigner(signingKey: string): Promise<EdgeSigner> {
  const seed = fromBase64url(signingKey.trim());
  if (seed?.length !== 32) throw new Error('EDGE_SIGNING_KEY must be a 32-byte Ed25519 seed in base64url (43 characters).');
  const pkcs8 = new Uint8Array([...PKCS8_SEED_PREFIX, ...seed]);
  const key = await crypto.subtle.importKey('pkcs8', pkcs8, ED25519, true, ['sign']);
  const jwk = (await crypto.subtle.exportKey('jwk', key)) as { x?: string };
  return {
    publicKey: jwk.x as string,
    async sign(req, nowMs = Date.now()) {
      const timestampS = Math.floor(nowMs / 1000);
      const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
      const signature = new Uint8Array(await crypto.subtle.sign(ED25519, key, await canonical(req, timestampS, nonce)));
      return {
        [SIGNATURE_HEADERS.backend]: req.backendId,
        ...(req.bootId ? { [SIGNATURE_HEADERS.boot]: req.bootId } : {}),
        [SIGNATURE_HEADERS.timestamp]: String(timestampS),
        [SIGNATURE_HEADERS.nonce]: nonce,
        [SIGNATURE_HEADERS.signature]: base64url(signature),
      };
    },
  };
}

/** A new boot id: 16 random bytes in base64url, the shape a heartbeat's `boot_id` takes. */
export function newBootId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** The boot id a request was signed for ('' when none). */
export function signedBootId(header: (name: string) => string | null | undefined): string {
  return header(SIGNATURE_HEADERS.boot) ?? '';
}

/** The public key from its base64url text; null when it is not a 32-byte key. */
export async function edgePublicKey(text: string): Promise<VerifyKey | null> {
  const raw = fromBase64url(text.trim());
  if (raw?.length !== 32) return null;
  return crypto.subtle.importKey('raw', raw, ED25519, false, ['verify']);
}

/**
 * The checks a forwarded request's headers alone allow: present and well-formed, signed for this backend, fresh.
 * Null when they hold, otherwise why not. A backend runs them before it reads the body, so an unsigned or stale
 * request costs it no body bytes.
 */
export function checkSignatureHeaders(
  backendId: string,
  header: (name: string) => string | null | undefined,
  nowMs = Date.now(),
): string | null {
  const backend = header(SIGNATURE_HEADERS.backend);
  const timestamp = header(SIGNATURE_HEADERS.timestamp);
  const nonce = header(SIGNATURE_HEADERS.nonce);
  const signature = fromBase64url(header(SIGNATURE_HEADERS.signature) ?? '');
  if (!backend || !timestamp || !nonce || !/^[A-Za-z0-9_-]{22}$/.test(nonce) || signature?.length !== 64)
    return `the request is not signed by the edge (headers ${Object.values(SIGNATURE_HEADERS).join(', ')})`;
  if (backend !== backendId) return `the request was signed for backend "${backend}", not this one ("${backendId}")`;
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > EDGE_SIGNATURE_MAX_AGE_S)
    return `the signature's timestamp is more than ${EDGE_SIGNATURE_MAX_AGE_S} s from this backend's clock`;
  return null;
}

/**
 * Checks a forwarded request against the edge's public key; null when it holds, otherwise why not (for the
 * 401's message). `req.backendId` and `req.bootId` are the verifier's own: a request signed for another backend,
 * or for an earlier start of this one, is refused.
 */
export async function verifyForwarded(
  publicKey: VerifyKey,
  req: ForwardedRequest,
  header: (name: string) => string | null | undefined,
  nowMs = Date.now(),
): Promise<string | null> {
  const refused = checkSignatureHeaders(req.backendId, header, nowMs);
  if (refused) return refused;
  const signature = fromBase64url(header(SIGNATURE_HEADERS.signature) ?? '') as Uint8Array;
  const canonicalText = await canonical(req, Number(header(SIGNATURE_HEADERS.timestamp)), header(SIGNATURE_HEADERS.nonce) as string);
  const ok = await crypto.subtle.verify(ED25519, publicKey, signature, canonicalText);
  return ok ? null : 'the signature does not match the request (wrong key, or the method, path or body changed after signing)';
}
