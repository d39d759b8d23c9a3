/**
 * A signed POST with an empty body from the edge to one backend (contracts/api/edge-signature.ts), for the
 * pushes that only make a backend act sooner than it would by itself (a cancel, a wake): the state they announce
 * is already in D1, so a push that fails is only reported as false.
 */
import { BACKEND_PUSH_TIMEOUT_MS } from '../../contracts/api/jobs.ts';
import type { EdgeSigner } from '../../contracts/api/edge-signature.ts';

export interface PushTarget {
  id: string;
  url: string;
  bootId: string | null;
}

export async function pushToBackend(signer: Promise<EdgeSigner>, backend: PushTarget, path: string): Promise<boolean> {
  try {
    const url = new URL(path, backend.url);
    const signed = await (await signer).sign({
      backendId: backend.id,
      bootId: backend.bootId ?? undefined,
      method: 'POST',
      path: url.pathname,
      body: '',
    });
    const res = await fetch(url, { method: 'POST', headers: signed, signal: AbortSignal.timeout(BACKEND_PUSH_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
