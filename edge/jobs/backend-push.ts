/**
 * A signed POST with an empty body from the edge to one backend (contracts/api/edge-signature.ts), for the
 * pushes that only make a backend act sooner than it would by itself (a cancel, a wake): the state they announce
 * is already in D1, so a push that fails is only reported as false.
 */
import { BACKEND_PUSH_TIMEOUT_MS } from '../../contracts/api/jobs.ts';
import type { EdgeSigner } from '../../contracts/api/edge-signature.ts';
import { type SignedTarget, signedCall } from '../auth/edge-signer.ts';

export async function pushToBackend(signer: Promise<EdgeSigner>, backend: SignedTarget, path: string): Promise<boolean> {
  try {
    const { url, headers } = await signedCall(signer, backend, 'POST', path);
    const res = await fetch(url, { method: 'POST', headers, signal: AbortSignal.timeout(BACKEND_PUSH_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
