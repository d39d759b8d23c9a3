/**
 * The edge's check of a published artifact (edge/jobs/artifact-check.ts) against the real s3rver: a file whose
 * ETag (the store's MD5 of what it holds) is the MD5 the manifest lists is taken without being read again; any
 * other file is read and hashed, so a file replaced after its manifest still fails the check.
 */
import { describe, expect, it } from 'vitest';
import { publishedArtifact } from '../../edge/jobs/artifact-check.ts';
import { store } from './fixtures.ts';

const hex = async (algorithm: string, bytes: Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest(algorithm, bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

let n = 0;
/** Writes `bytes` as `basis.safetensors` under a fresh prefix, then a manifest listing `listed` for it. */
async function publish(bytes: Uint8Array, listed: { sha256: string; md5?: string }) {
  const prefix = `artifact-check/${++n}/`;
  await store.put(`${prefix}basis.safetensors`, bytes);
  const manifest = {
    format: 'rankgate-artifact',
    version: 1,
    job_id: `job-${n}`,
    layout: 'reversible_basis',
    files: [{ name: 'basis.safetensors', bytes: bytes.byteLength, ...listed }],
  };
  await store.put(`${prefix}artifact.json`, JSON.stringify(manifest));
  return { prefix, check: () => publishedArtifact(store, prefix, `job-${n}`, 'reversible_basis', ['basis.safetensors']) };
}

const bytes = new Uint8Array(4096).map((_, i) => (i * 31) & 0xff);
const other = bytes.map((b) => b ^ 1);

describe("the edge's artifact check", () => {
  it('takes a file whose ETag is the MD5 the manifest lists without reading it again', async () => {
    // The listed SHA-256 is wrong on purpose: only a check that did not read and hash the file passes it.
    const { check } = await publish(bytes, { sha256: '0'.repeat(64), md5: await hex('MD5', bytes) });
    await expect(check()).resolves.toMatchObject({ layout: 'reversible_basis' });
  });

  it('reads and hashes a file replaced after its manifest (its ETag is no longer the listed MD5), and fails it', async () => {
    const { prefix, check } = await publish(bytes, { sha256: await hex('SHA-256', bytes), md5: await hex('MD5', bytes) });
    await expect(check()).resolves.toBeDefined();
    await store.put(`${prefix}basis.safetensors`, other);
    await expect(check()).rejects.toMatchObject({ code: 'output_incomplete', message: expect.stringContaining('SHA-256') });
  });

  it('reads and hashes a file whose manifest lists no MD5 (artifacts from before it was listed)', async () => {
    await expect((await publish(bytes, { sha256: await hex('SHA-256', bytes) })).check()).resolves.toBeDefined();
    await expect((await publish(bytes, { sha256: await hex('SHA-256', other) })).check()).rejects.toMatchObject({
      code: 'output_incomplete',
    });
  });
});
