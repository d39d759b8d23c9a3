/**
 * Publishing a job's artifact (contracts/formats/job-artifacts.ts): the previous attempt's manifest is removed
 * first, the data files are written, and the manifest listing them (sizes, SHA-256 and MD5) goes last. A backend that
 * dies before the last write leaves files without a manifest, which the edge never takes as done; the next
 * holder writes the same files again, since every job's output is a function of its spec.
 */
import { createHash } from 'node:crypto';
import {
  ARTIFACT_FORMAT,
  ARTIFACT_MANIFEST,
  type ArtifactFile,
  type ArtifactLayout,
  type ArtifactManifest,
} from '../../contracts/formats/job-artifacts.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';

/**
 * Test-only: milliseconds to wait before each file of an artifact is written, so an end-to-end test can kill a
 * backend half-way through publishing (tests/e2e/merges.test.ts). Never set it in production.
 */
export const TEST_DELAY_ENV = 'RANKGATE_TEST_ARTIFACT_DELAY_MS';

function testDelayMs(): number {
  const ms = Number(process.env[TEST_DELAY_ENV] ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

const digestHex = (algorithm: 'sha256' | 'md5', bytes: Uint8Array) => createHash(algorithm).update(bytes).digest('hex');

/** Files of one artifact, by name relative to the output prefix. */
export type ArtifactFiles = [name: string, bytes: Uint8Array][];

/** Removes a manifest an earlier attempt may have left, so nothing looks done while this one writes. */
export async function unpublish(store: ObjectStore, outputPrefix: string): Promise<void> {
  await store.delete([outputPrefix + ARTIFACT_MANIFEST]);
}

export async function publishArtifact(
  store: ObjectStore,
  outputPrefix: string,
  jobId: string,
  layout: ArtifactLayout,
  files: ArtifactFiles,
  signal: AbortSignal,
): Promise<ArtifactManifest> {
  const delay = testDelayMs();
  const listed: ArtifactFile[] = [];
  for (const [name, bytes] of files) {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    signal.throwIfAborted();
    const file = { name, bytes: bytes.byteLength, sha256: digestHex('sha256', bytes), md5: digestHex('md5', bytes) };
    // The SHA-256 goes with the upload so that a store which checks it refuses a body damaged on the way.
    await store.put(outputPrefix + name, bytes, { contentLength: bytes.byteLength, sha256Hex: file.sha256 });
    listed.push(file);
  }
  if (delay) await new Promise((r) => setTimeout(r, delay));
  signal.throwIfAborted();
  const manifest: ArtifactManifest = { format: ARTIFACT_FORMAT, version: 1, job_id: jobId, layout, files: listed };
  const body = new TextEncoder().encode(JSON.stringify(manifest, null, 2));
  await store.put(outputPrefix + ARTIFACT_MANIFEST, body, { contentLength: body.byteLength, contentType: 'application/json' });
  return manifest;
}
