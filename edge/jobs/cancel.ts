/**
 * Telling a running backend that its job was cancelled. The job row already says `cancelled`, which the
 * backend learns on its next renew or report; this push only makes it stop sooner, so its failure is ignored.
 */
import { eq } from 'drizzle-orm';
import { backends } from '../../schema/index.ts';
import type { Db } from '../db.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';

const PUSH_TIMEOUT_MS = 2000;

export async function pushCancel(db: Db, secret: string, backendId: string, kind: JobKind, id: string): Promise<boolean> {
  const [backend] = await db.select({ url: backends.url }).from(backends).where(eq(backends.id, backendId));
  if (!backend) return false;
  try {
    const res = await fetch(new URL(`/internal/v1/tasks/${kind}/${id}/cancel`, backend.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
