/**
 * The check an adapter passes before it is `ready`, whether a person uploaded it or a backend produced it:
 * the files exist with the declared sizes and SHA-256, adapter_config.json is a LoRA config rankgate serves,
 * and the safetensors header (read with a ranged GET) matches the base model's shapes; then one streamed pass
 * over the weights checks the hash and that every value is finite.
 */
import { checkAdapterShapes } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import { parseLoraConfig } from '../../contracts/formats/peft-config.ts';
import { headerLength, parseSafetensorsHeader, type SafetensorsHeader } from '../../contracts/formats/safetensors.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import type { DeclaredFile } from '../../schema/index.ts';
import { ADAPTER_FILES, MAX_ADAPTER_HEADER_BYTES, MAX_FILE_BYTES, type AdapterFile } from './files.ts';
import { FiniteScanner } from './finite-scan.ts';
import { toHex } from '../../contracts/formats/hex.ts';

export interface AdapterFacts {
  rank: number;
  targetModules: string[];
  sizeBytes: number;
  sha256: string;
}

/** Some file is not there yet: the upload is unfinished, which is not a reason to reject it. */
export class MissingFilesError extends Error {
  constructor(readonly missing: AdapterFile[]) {
    super(`missing ${missing.join(', ')}`);
  }
}

/** The first bytes fetched for the header; most adapter headers fit, the rest take one more ranged GET. */
const HEADER_PROBE_BYTES = 64 * 1024;

export async function verifyAdapter(
  store: ObjectStore,
  keyOf: (f: AdapterFile) => string,
  model: ModelConfig,
  declared: DeclaredFile[] | null,
): Promise<AdapterFacts> {
  const infos = await Promise.all(ADAPTER_FILES.map((f) => store.head(keyOf(f))));
  const missing = ADAPTER_FILES.filter((_, i) => infos[i] === null);
  if (missing.length) throw new MissingFilesError(missing);
  const sizes = Object.fromEntries(ADAPTER_FILES.map((f, i) => [f, infos[i]!.size])) as Record<AdapterFile, number>;

  for (const f of ADAPTER_FILES) {
    const want = declared?.find((d) => d.filename === f);
    if (want && want.bytes !== sizes[f]) {
      invalid(
        'upload_size_mismatch',
        `${f} holds ${sizes[f]} bytes but ${want.bytes} were declared; the upload was cut short or replaced. Create a new adapter and upload the file again.`,
        f,
      );
    }
    if (sizes[f] > MAX_FILE_BYTES[f]) invalid('file_too_large', `${f} is ${sizes[f]} bytes; the limit is ${MAX_FILE_BYTES[f]}.`, f);
  }

  const configBytes = (await store.getBytes(keyOf('adapter_config.json')))!;
  let configJson: unknown;
  try {
    configJson = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(configBytes));
  } catch {
    invalid(
      'bad_adapter_config',
      "adapter_config.json is not valid UTF-8 JSON; upload the file PEFT's save_pretrained wrote.",
      'adapter_config.json',
    );
  }
  const config = parseLoraConfig(configJson);

  const header = await readHeader(store, keyOf('adapter_model.safetensors'), sizes['adapter_model.safetensors']);
  const targets = checkAdapterShapes(config, model, header.tensors);

  const sha256 = await scanWeights(store, keyOf('adapter_model.safetensors'), header);
  const want = declared?.find((d) => d.filename === 'adapter_model.safetensors');
  if (want?.sha256 && want.sha256 !== sha256) {
    invalid(
      'upload_checksum_mismatch',
      `adapter_model.safetensors has SHA-256 ${sha256} but ${want.sha256} was declared; the file changed after it was declared. Create a new adapter and upload it again.`,
      'adapter_model.safetensors',
    );
  }
  return {
    rank: Math.max(...targets.map((t) => t.rank)),
    targetModules: [...new Set(targets.map((t) => t.projection))],
    sizeBytes: sizes['adapter_config.json'] + sizes['adapter_model.safetensors'],
    sha256,
  };
}

async function readHeader(store: ObjectStore, key: string, size: number): Promise<SafetensorsHeader> {
  if (size < 8)
    invalid(
      'safetensors_truncated',
      `adapter_model.safetensors is ${size} bytes; a safetensors file starts with an 8-byte header length.`,
      'adapter_model.safetensors',
    );
  let bytes = (await store.getBytes(key, { start: 0, end: Math.min(size, HEADER_PROBE_BYTES) - 1 }))!;
  const needed = 8 + headerLength(bytes, size);
  if (needed - 8 > MAX_ADAPTER_HEADER_BYTES)
    invalid(
      'safetensors_header_too_large',
      `adapter_model.safetensors declares a ${needed - 8}-byte header; an adapter's header is far smaller, and the limit is ${MAX_ADAPTER_HEADER_BYTES}. Upload the file PEFT's save_pretrained wrote.`,
      'adapter_model.safetensors',
    );
  if (needed > bytes.byteLength) bytes = (await store.getBytes(key, { start: 0, end: needed - 1 }))!;
  return parseSafetensorsHeader(bytes, size);
}

/** One streamed read: SHA-256 of the whole file and the finite check of every weight. */
async function scanWeights(store: ObjectStore, key: string, header: SafetensorsHeader): Promise<string> {
  const object = await store.getStream(key);
  if (!object) throw new MissingFilesError(['adapter_model.safetensors']);
  const digest = new crypto.DigestStream('SHA-256');
  const hashWriter = digest.getWriter();
  const scanner = new FiniteScanner(header);
  const reader = object.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      scanner.push(value);
      await hashWriter.write(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  await hashWriter.close();
  return toHex(await digest.digest);
}
