import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStore } from '../../contracts/storage/object-store.ts';
import { FolderCache, MODEL_FILES } from '../../gpu-backend/storage/folder-cache.ts';
import { type LocalS3, startLocalS3 } from '../../gpu-backend/storage/local-s3rver.ts';

const rssBytes = async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'))![1]) * 1024;

describe('the folder cache (Node, against s3rver)', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let dir: string;
  beforeAll(async () => {
    s3 = await startLocalS3({ bucket: 'folder-cache-test' });
    store = new ObjectStore(s3.config);
    await store.ensureBucket();
    dir = await mkdtemp(join(tmpdir(), 'folder-cache-test-'));
  });
  afterAll(async () => {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // A checkpoint shard or a packed artifact is gigabytes: read whole, it stayed in the serving backend's RSS.
  it('streams a large object to disk instead of holding it in memory', async () => {
    const size = 192 * 1024 ** 2;
    const source = join(dir, 'source.safetensors');
    const chunk = new Uint8Array(1024 ** 2).map((_, i) => i % 251);
    await writeFile(
      source,
      (async function* () {
        for (let i = 0; i < size / chunk.byteLength; i++) yield chunk;
      })(),
    );
    await store.put('big/model.safetensors', createReadStream(source), { contentLength: size });
    await store.put('big/config.json', '{}');
    globalThis.gc?.();
    const before = await rssBytes();
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rssBytes());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const folder = await new FolderCache(store, join(dir, 'cache')).fetch('big/', MODEL_FILES);
    peak = Math.max(peak, await rssBytes());
    sampling = false;
    await sampler;
    expect((await stat(join(folder, 'model.safetensors'))).size).toBe(size);
    const got = await readFile(join(folder, 'model.safetensors'));
    expect(got.subarray(size - 1024 ** 2).equals(chunk)).toBe(true);
    // Memory, not time: a whole-object read grows RSS by at least the object's size.
    expect(peak - before).toBeLessThan(size / 2);
  });
});
