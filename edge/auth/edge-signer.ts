/** The edge's signer for forwarded requests, built once per EDGE_SIGNING_KEY (importing a key costs a little on every request). */
import { edgeSigner, type EdgeSigner } from '../../contracts/api/edge-signature.ts';
import { ApiError } from '../errors.ts';

const signers = new Map<string, Promise<EdgeSigner>>();

/** The signer, or null when EDGE_SIGNING_KEY is unset; a malformed key throws (the operator's to fix). */
export function signerFor(signingKey: string | undefined): Promise<EdgeSigner> | null {
  if (!signingKey) return null;
  let signer = signers.get(signingKey);
  if (!signer) {
    signer = edgeSigner(signingKey);
    signers.set(signingKey, signer);
  }
  return signer;
}

/** The signer the edge needs to forward anything; a 503 naming the setting when it has none. */
export async function requireSigner(signingKey: string | undefined): Promise<EdgeSigner> {
  const signer = signerFor(signingKey);
  if (!signer) {
    throw new ApiError(
      503,
      'edge_not_configured',
      'The edge has no EDGE_SIGNING_KEY, so it cannot sign requests to backends; the operator must set it (edge/README.md).',
      null,
      { 'retry-after': '60' },
    );
  }
  return signer;
}

/** A backend the edge calls on the signed internal channel. */
export interface SignedTarget {
  id: string;
  url: string;
  bootId: string | null;
}

/** The URL of `path` on `backend` and the headers that sign a bodiless `method` request to it for that backend's boot. */
export async function signedCall(
  signer: Promise<EdgeSigner>,
  backend: SignedTarget,
  method: 'GET' | 'POST',
  path: string,
): Promise<{ url: URL; headers: Record<string, string> }> {
  const url = new URL(path, backend.url);
  const headers = await (await signer).sign({
    backendId: backend.id,
    bootId: backend.bootId ?? undefined,
    method,
    path: url.pathname,
    body: '',
  });
  return { url, headers };
}
