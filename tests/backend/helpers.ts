/** Shared test helpers for backend suites. */
import { mkdtemp, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama');

/** A writable copy of the tiny-llama fixture, for tests that corrupt or extend it. */
export async function fixtureCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-fixture-'));
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}
