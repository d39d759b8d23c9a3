/**
 * Only the edge calls a backend, and only for this backend: every request must carry the edge's Ed25519
 * signature (contracts/api/edge-signature.ts) over this backend's id, a fresh timestamp, the method and path,
 * and the body's digest (which covers the tenant and the routed target in its `rankgate` field). It is
 * checked before anything parses or serves the request, and each signature is taken once (a replay within the
 * window is refused too). What the headers alone show (unsigned, misdirected, stale) is refused before a byte of
 * the body is read, and a body larger than the edge ever sends is refused (413) before it is buffered. Signatures
 * also name this backend's boot id, so one taken before a restart (which forgets the signatures taken) is refused after it. The public key comes from EDGE_PUBLIC_KEY when set,
 * else from the edge's heartbeat answer (over the backend's authenticated call to its configured EDGE_URL);
 * until one is known every request is refused.
 */
import type { HonoRequest, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MAX_FORWARDED_BODY_BYTES } from '../../contracts/api/body-limits.ts';
import {
  checkSignatureHeaders,
  EDGE_SIGNATURE_MAX_AGE_S,
  edgePublicKey,
  SIGNATURE_HEADERS,
  signedBootId,
  verifyForwarded,
  type VerifyKey,
} from '../../contracts/api/edge-signature.ts';
import { errorBody } from '../../contracts/api/error-body.ts';

/** The edge's public key as this backend knows it: pinned by configuration, or learned from heartbeats. */
export class EdgeKey {
  private text: string | null = null;
  private key: Promise<VerifyKey | null> = Promise.resolve(null);

  /** A pinned key (EDGE_PUBLIC_KEY) is never replaced by what a heartbeat answer says. */
  constructor(private readonly pinned: string | null = null) {
    if (pinned) this.learn(pinned, true);
  }

  /** Takes the key the edge announced (base64url); false when it is not a valid key. */
  learn(text: string, fromConfig = false): boolean {
    if (this.pinned && !fromConfig) return this.pinned === text;
    if (text === this.text) return true;
    this.text = text;
    this.key = edgePublicKey(text).catch(() => null);
    return true;
  }

  get(): Promise<VerifyKey | null> {
    return this.key;
  }
}

export interface EdgeAuth {
  /** This backend's id: requests signed for another backend are refused. */
  backendId: string;
  /**
   * New at every start, announced in heartbeats (contracts/api/edge-signature.ts): requests signed for another boot
   * (before a restart, when the signatures taken were forgotten) are refused. Absent: a backend that announces none.
   */
  bootId?: string;
  edgeKey: EdgeKey;
}

const refuse = (status: 401 | 413 | 503, code: string, message: string) =>
  new Response(JSON.stringify(errorBody(status, code, message)), { status, headers: { 'content-type': 'application/json' } });

/** Signatures seen within the window, so each is taken once; older ones fail the timestamp check anyway. */
class SeenSignatures {
  private readonly seen = new Map<string, number>();

  /** False when `signature` was seen within the window. */
  add(signature: string, nowMs = Date.now()): boolean {
    if (this.seen.has(signature)) return false;
    for (const [s, at] of this.seen) {
      // Insertion order is time order: stop at the first one still inside the window (either side of the clock).
      if (nowMs - at <= 2 * EDGE_SIGNATURE_MAX_AGE_S * 1000) break;
      this.seen.delete(s);
    }
    this.seen.set(signature, nowMs);
    return true;
  }
}

export function edgeSigned(auth: EdgeAuth): MiddlewareHandler {
  const seen = new SeenSignatures();
  const limit = bodyLimit({
    maxSize: MAX_FORWARDED_BODY_BYTES,
    onError: () =>
      refuse(
        413,
        'body_too_large',
        `The request body is over ${MAX_FORWARDED_BODY_BYTES} bytes, more than the rankgate edge ever forwards; send requests through the edge.`,
      ),
  });
  return async (c, next) => {
    const key = await auth.edgeKey.get();
    if (!key)
      return refuse(
        503,
        'edge_key_unknown',
        "This backend does not know the edge's public key yet: it learns it from its first heartbeat answer, or set EDGE_PUBLIC_KEY.",
      );
    const header = (name: string) => c.req.header(name);
    const unsigned = checkSignatureHeaders(auth.backendId, header);
    if (unsigned) return refuse(401, 'unauthorized', `This route is for the rankgate edge, and ${unsigned}.`);
    // 503, not 401: the edge signs for the boot it last heard of, and moves on to another backend until the next heartbeat.
    if (signedBootId(header) !== (auth.bootId ?? ''))
      return refuse(
        503,
        'backend_restarted',
        'This request was signed for an earlier start of this backend (its boot id changed); the edge learns the new one from the next heartbeat. Retry.',
      );
    // bodyLimit answers 413 itself, and passes on the next handler's void: a refusal after it is handed out here.
    let refusal: Response | null = null;
    const tooLarge = await limit(c, async () => {
      refusal = await verifyBody(c.req, key, auth, seen, header);
      if (!refusal) await next();
    });
    return refusal ?? tooLarge;
  };
}

/** The signature over the body, and its first use; a 401 when either fails. */
async function verifyBody(
  req: HonoRequest,
  key: VerifyKey,
  { backendId, bootId }: EdgeAuth,
  seen: SeenSignatures,
  header: (name: string) => string | undefined,
): Promise<Response | null> {
  // Hono keeps the bytes read here (bodyLimit put them in the request), so c.req.json() parses exactly what was verified.
  const body = new Uint8Array(await req.arrayBuffer());
  const url = new URL(req.url);
  const refused = await verifyForwarded(key, { backendId, bootId, method: req.method, path: url.pathname + url.search, body }, header);
  if (refused) return refuse(401, 'unauthorized', `This route is for the rankgate edge, and ${refused}.`);
  if (!seen.add(header(SIGNATURE_HEADERS.signature) ?? ''))
    return refuse(401, 'unauthorized', 'This route is for the rankgate edge, and this signed request was already served once (a replay).');
  return null;
}
