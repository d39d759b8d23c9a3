/**
 * Some tensors of a checkpoint kept in object storage, fetched by HTTP range into one local `model.safetensors`,
 * beside the folder's JSON files: what a base served with stored packed weights (`<base>@int4`) needs of its bf16
 * checkpoint (the embedding table and the norms, a quarter of a 1B model), without downloading the rest.
 * Each shard's header is read first (two ranged GETs), then each wanted tensor's bytes, streamed to the file.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../../contracts/formats/errors.ts';
import { headerLength, parseSafetensorsHeader, safetensorsHeader, type TensorInfo } from '../../contracts/formats/safetensors.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { writeAt } from '../formats/checkpoint.ts';

/** The index of a sharded checkpoint: the parts are one file, so the folder holds none. */
const INDEX_FILE = 'model.safetensors.index.json';
export const PARTS_FILE = 'model.safetensors';

interface Part {
  key: string;
  name: string;
  info: TensorInfo;
  /** Where the tensor's bytes start in its shard. */
  at: number;
}

/**
 * Writes into `dir` the JSON files under `prefix` (all but the shard index) and `model.safetensors` holding the
 * tensors `wanted` picks from every shard. `objects`: the file names under `prefix` (no deeper keys).
 */
export async function fetchCheckpointParts(
  store: ObjectStore,
  prefix: string,
  objects: string[],
  dir: string,
  wanted: (tensor: string) => boolean,
): Promise<void> {
  for (const name of objects.filter((n) => n.endsWith('.json') && n !== INDEX_FILE)) {
    const bytes = await store.getBytes(prefix + name);
    if (bytes === null) continue;
    const fh = await open(join(dir, name), 'w');
    await writeAt(fh, bytes, 0).finally(() => fh.close());
  }
  const parts: Part[] = [];
  for (const name of objects.filter((n) => n.endsWith('.safetensors'))) {
    const key = prefix + name;
    const head = await store.getBytes(key, { start: 0, end: 7 });
    if (head === null) continue;
    const whole = await store.getBytes(key, { start: 0, end: 7 + headerLength(head) });
    const header = parseSafetensorsHeader(whole!);
    for (const [tensor, info] of header.tensors)
      if (wanted(tensor)) parts.push({ key, name: tensor, info, at: header.dataStart + info.begin });
  }
  const { header } = safetensorsHeader(parts.map((p) => [p.name, p.info]));
  const fh = await open(join(dir, PARTS_FILE), 'w');
  try {
    await writeAt(fh, header, 0);
    let offset = header.byteLength;
    for (const p of parts) {
      const bytes = p.info.end - p.info.begin;
      if (bytes > 0) await streamRange(store, p, fh, offset);
      offset += bytes;
    }
  } finally {
    await fh.close();
  }
}

async function streamRange(store: ObjectStore, p: Part, fh: Awaited<ReturnType<typeof open>>, offset: number): Promise<void> {
  const bytes = p.info.end - p.info.begin;
  const object = await store.getStream(p.key, { start: p.at, end: p.at + bytes - 1 });
  let done = 0;
  for await (const chunk of object?.body ?? []) {
    if (done + chunk.byteLength > bytes) break;
    await writeAt(fh, chunk, offset + done);
    done += chunk.byteLength;
  }
  if (done !== bytes)
    invalid('checkpoint_truncated', `${p.key} ends inside tensor "${p.name}" (${done} of ${bytes} bytes); upload the checkpoint again.`);
}
