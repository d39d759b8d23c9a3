/**
 * A child process that runs one model folder's tokenizer.json and chat template (see tokenizer-sandbox.ts): both
 * are the tenant's own files, so what they do (a pre-tokenizer regex that backtracks, a template that loops,
 * recurses or fills the heap) happens here, under this process's heap cap, where the backend can kill it. Plain
 * JavaScript, so it starts the same under tsx, vitest and plain node. Its folder is its one argument.
 *
 * It loads the tokenizer on start and answers `{ loaded }` or `{ loaded: false, error }`; then one job at a time:
 * `{ id, op: 'encode', text, addSpecialTokens }` → `{ id, ids }`, `{ id, op: 'render', messages,
 * addGenerationPrompt, maxBytes }` → `{ id, text }`, or `{ id, error: { kind, message } }`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';

const dir = process.argv[2];
const send = (message) => process.send(message);
// The backend is gone (or has let this model go): nothing is left to answer.
process.on('disconnect', () => process.exit(0));

function readConfig() {
  try {
    return JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  } catch {
    // The main thread has already refused an unreadable tokenizer_config.json; a missing one means no settings.
    return {};
  }
}

const message = (err) => (err instanceof Error ? err.message : String(err));

let tokenizer = null;
const config = readConfig();
try {
  tokenizer = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), config);
  send({ loaded: true });
} catch (err) {
  send({ loaded: false, error: { kind: 'failed', message: message(err) } });
}

/** The parsed template, or its syntax error, found on the first render. */
let template;

function render({ messages, addGenerationPrompt, maxBytes }) {
  if (template === undefined) {
    try {
      template = new Template(config.chat_template);
    } catch (err) {
      template = { error: message(err) };
    }
  }
  if (template.error !== undefined) return { error: { kind: 'syntax', message: template.error } };
  const text = template.render({
    messages,
    add_generation_prompt: addGenerationPrompt,
    bos_token: config.bos_token ?? '',
    eos_token: config.eos_token ?? '',
  });
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) return { error: { kind: 'output', message: `${bytes} bytes` } };
  return { text };
}

process.on('message', (job) => {
  let answer;
  try {
    if (job.op === 'render') answer = render(job);
    else answer = { ids: Int32Array.from(tokenizer.encode(job.text, { add_special_tokens: job.addSpecialTokens }).ids) };
  } catch (err) {
    answer = { error: { kind: 'failed', message: message(err) } };
  }
  send({ id: job.id, ...answer });
});
