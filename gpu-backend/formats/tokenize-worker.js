/**
 * A worker thread that tokenizes long texts off the backend's event loop (see tokenizer-pool.ts). Plain
 * JavaScript, so it starts the same under tsx, vitest and plain node. Each tokenizer folder is loaded once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { Tokenizer } from '@huggingface/tokenizers';

const loaded = new Map();

function tokenizerOf(dir) {
  let tok = loaded.get(dir);
  if (!tok) {
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    let config = {};
    try {
      config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    } catch {
      // As TextTokenizer.load: no tokenizer_config.json means no special-token settings.
    }
    tok = new Tokenizer(json, config);
    loaded.set(dir, tok);
  }
  return tok;
}

parentPort.on('message', ({ id, dir, text, addSpecialTokens }) => {
  try {
    const ids = tokenizerOf(dir).encode(text, { add_special_tokens: addSpecialTokens }).ids;
    parentPort.postMessage({ id, ids: Int32Array.from(ids) });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
