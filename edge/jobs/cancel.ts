/**
 * Telling a running backend that its job was cancelled. The job row already says `cancelled`, which the
 * backend learns on its next renew or report; this push only makes it stop sooner, so its failure is ignored.
 */
import { eq } from 'drizzle-orm';
import { backends } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';
import { signerFor } from '../auth/edge-signer.ts';
import { pushToBackend } from './backend-push.ts';

/** Signed for the lease holder (contracts/api/edge-signature.ts), like every request the edge sends a backend. */
export async function pushCancel(db: Db, signingKey: string | undefined, backendId: string, kind: JobKind, id: string): Promise<boolean> {
  const signer = signerFor(signingKey);
  const [backend] = await db.select({ url: backends.url, bootId: backends.bootId }).from(backends).where(eq(backends.id, backendId));
  if (!backend || !signer) return false;
  return pushToBackend(signer, { id: backendId, ...backend }, `/internal/v1/tasks/${kind}/${encodeURIComponent(id)}/cancel`);
}
