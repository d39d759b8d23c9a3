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
