/**
 * A Hugging Face checkpoint opened without reading its weights: `model.safetensors`, or the shards that
 * `model.safetensors.index.json` names. Opening reads the headers only; `read` then fetches one tensor at a time
 * straight into its own buffer, so a caller that converts and writes each tensor before asking for the next holds
 * one tensor, never the checkpoint.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../../contracts/formats/errors.ts';
import { type DType, headerLength, parseSafetensorsHeader, type Tensor, tensorOnBuffer } from '../../contracts/formats/safetensors.ts';
import { readJsonFile } from './files.ts';

export interface TensorEntry {
  dtype: DType;
  shape: number[];
}

/** Tensors by name: what each is (from the header alone), and its values on demand. */
export interface TensorSource {
  describe(name: string): TensorEntry | undefined;
  read(name: string): Promise<Tensor>;
  /** Where the tensor's bytes sit in a file, as stored (absent for a source held in memory). */
  locate?(name: string): TensorPlace | undefined;
}

/** A tensor's bytes in a file: a reader that takes them as stored (onnxruntime's external data) needs no copy. */
export interface TensorPlace {
  file: string;
  /** Byte offset of the tensor's data in its file. */
  at: number;
  bytes: number;
}

interface Located extends TensorEntry, TensorPlace {}

export interface Checkpoint extends TensorSource {
  readonly names: string[];
  /** The header's `__metadata__` strings (a single file's; none for a sharded checkpoint). */
  readonly metadata: Record<string, string>;
}

const INDEX_FILE = 'model.safetensors.index.json';

/** Bytes per read or write call: Node takes at most 2 GB (an int32 length) at once. */
export const IO_CHUNK = 1 << 30;

/** Writes all of `bytes` at `position`, in chunks Node accepts. */
export async function writeAt(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.byteLength - done, IO_CHUNK), position + done);
    done += bytesWritten;
  }
}

/** Reads the safetensors header of `path`: each tensor's dtype, shape and place in the file. */
async function readHeader(path: string, metadata: Record<string, string> = {}): Promise<Map<string, Located>> {
  const fh = await open(path, 'r').catch(() => invalid('missing_file', `safetensors file not found at ${path}.`));
  try {
    const { size } = await fh.stat();
    const prefix = new Uint8Array(Math.min(8, size));
    await fh.read(prefix, 0, prefix.byteLength, 0);
    const head = new Uint8Array(8 + headerLength(prefix, size));
    await fh.read(head, 0, head.byteLength, 0);
    const header = parseSafetensorsHeader(head, size);
    Object.assign(metadata, header.metadata);
    const out = new Map<string, Located>();
    for (const [name, info] of header.tensors)
      out.set(name, { dtype: info.dtype, shape: info.shape, file: path, at: header.dataStart + info.begin, bytes: info.end - info.begin });
    return out;
  } finally {
    await fh.close();
  }
}

/** The shard files of a sharded checkpoint, each tensor checked against the index's weight_map. */
async function readShardedHeaders(dir: string): Promise<Map<string, Located>> {
  const indexPath = join(dir, INDEX_FILE);
  const index = (await readJsonFile(indexPath, INDEX_FILE)) as { weight_map?: Record<string, string> };
  if (!index.weight_map || typeof index.weight_map !== 'object') invalid('bad_checkpoint', `${indexPath} has no weight_map.`);
  const all = new Map<string, Located>();
  for (const shard of new Set(Object.values(index.weight_map))) {
    if (shard.includes('/') || shard.includes('..'))
      invalid('bad_checkpoint', `weight_map names shard "${shard}" outside the checkpoint folder.`);
    for (const [k, v] of await readHeader(join(dir, shard))) {
      if (index.weight_map[k] !== shard)
        invalid('bad_checkpoint', `tensor "${k}" is in ${shard} but weight_map places it in ${index.weight_map[k] ?? 'no shard'}.`);
      all.set(k, v);
    }
  }
  const missing = Object.keys(index.weight_map).filter((k) => !all.has(k));
  if (missing.length) invalid('bad_checkpoint', `weight_map lists ${missing.length} tensors no shard holds, e.g. "${missing[0]}".`);
  return all;
}

/** Opens one safetensors file as a source (an artifact, or a single-file checkpoint). */
export async function openSafetensors(path: string): Promise<Checkpoint> {
  const metadata: Record<string, string> = {};
  return sourceOf(await readHeader(path, metadata), metadata);
}

/** Opens a checkpoint folder: `model.safetensors`, or the shards `model.safetensors.index.json` names. */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const sharded = await stat(join(dir, INDEX_FILE)).then(
    () => true,
    () => false,
  );
  if (sharded) return sourceOf(await readShardedHeaders(dir), {});
  return openSafetensors(join(dir, 'model.safetensors'));
}

function sourceOf(entries: Map<string, Located>, metadata: Record<string, string>): Checkpoint {
  return {
    names: [...entries.keys()],
    metadata,
    describe: (name) => {
      const e = entries.get(name);
      return e && { dtype: e.dtype, shape: e.shape };
    },
    locate: (name) => {
      const e = entries.get(name);
      return e && { file: e.file, at: e.at, bytes: e.bytes };
    },
    read: async (name) => {
      const e = entries.get(name);
      if (!e) return invalid('checkpoint_missing_tensor', `the checkpoint has no "${name}".`);
      const buffer = new ArrayBuffer(e.bytes);
      let fh: FileHandle | undefined;
      try {
        fh = await open(e.file, 'r');
        // Node reads at most 2 GB at once and may return fewer bytes than asked: loop in chunks until done.
        for (let done = 0; done < e.bytes; ) {
          const { bytesRead } = await fh.read(new Uint8Array(buffer, done), 0, Math.min(e.bytes - done, IO_CHUNK), e.at + done);
          if (bytesRead === 0) invalid('safetensors_truncated', `${e.file} ends inside tensor "${name}".`);
          done += bytesRead;
        }
      } finally {
        await fh?.close();
      }
      return tensorOnBuffer(e, buffer);
    },
  };
}

/** Every tensor of a source, read into memory (small models, training, tests). */
export async function readAll(source: Checkpoint): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  for (const name of source.names) out.set(name, await source.read(name));
  return out;
}
