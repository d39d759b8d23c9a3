/**
 * From dataset examples to token batches: prompt/completion pairs and chat conversations become token ids with
 * labels (IGNORE where no loss is taken: the prompt, or every non-assistant message), truncated to the maximum
 * length, then grouped into right-padded batches whose length is rounded up to a bucket so that training
 * graphs (built per shape) are reused.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import { describeErrors, parseDataset, type Example } from '../../contracts/formats/dataset.ts';
import type { ChatMessage } from '../formats/tokenizer.ts';
import type { TokenBatch } from './backprop.ts';

/** The label of a position that carries no loss (transformers' ignore_index). */
export const IGNORE = -100;

/**
 * What encoding needs of a tokenizer: TextTokenizer in this thread (scripts, tests), or ServedTokenizer, which runs a
 * tenant's tokenizer.json and chat template in the model's sandboxed process (the backend's jobs).
 */
export interface DatasetTokenizer {
  encode(text: string, addSpecialTokens?: boolean): number[] | Promise<number[]>;
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt: boolean): string | Promise<string>;
  readonly eosId: number | null;
}

/** Examples encoded at once: enough to keep a sandboxed tokenizer's process busy, few enough to bound what is queued to it. */
const ENCODE_AT_ONCE = 64;

export interface EncodedExample {
  ids: number[];
  labels: number[];
}

export interface EncodedDataset {
  examples: EncodedExample[];
  /** Examples cut to the maximum length. */
  truncated: number;
  /** Examples left with no trained token after truncation, and dropped. */
  dropped: number;
}

/** Token pieces of a conversation, each marked trained (assistant) or not, in template order. */
async function chatPieces(
  messages: Extract<Example, { kind: 'chat' }>['messages'],
  tok: DatasetTokenizer,
): Promise<{ text: string; train: boolean }[]> {
  const pieces: { text: string; train: boolean }[] = [];
  let done = '';
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'assistant') continue;
    const before = await tok.applyChatTemplate(messages.slice(0, i), true);
    const through = await tok.applyChatTemplate(messages.slice(0, i + 1), false);
    // Templates render prefix-stably in practice; the assistant's turn is what its message adds to the text.
    const start = through.startsWith(before) ? before.length : through.lastIndexOf(messages[i].content);
    if (start < done.length)
      invalid(
        'bad_chat_template',
        "the chat template does not render conversations prefix by prefix; rankgate cannot tell which tokens are the assistant's.",
      );
    pieces.push({ text: through.slice(done.length, start), train: false }, { text: through.slice(start), train: true });
    done = through;
  }
  const all = await tok.applyChatTemplate(messages, false);
  if (all.length > done.length) pieces.push({ text: all.slice(done.length), train: false });
  return pieces.filter((p) => p.text.length > 0);
}

export async function encodeExample(ex: Example, tok: DatasetTokenizer): Promise<EncodedExample> {
  const ids: number[] = [];
  const labels: number[] = [];
  const push = (tokens: number[], train: boolean) => {
    ids.push(...tokens);
    labels.push(...(train ? tokens : tokens.map(() => IGNORE)));
  };
  if (ex.kind === 'completion') {
    push(await tok.encode(ex.prompt, true), false);
    push([...(await tok.encode(ex.completion)), ...(tok.eosId !== null ? [tok.eosId] : [])], true);
  } else {
    for (const piece of await chatPieces(ex.messages, tok)) push(await tok.encode(piece.text), piece.train);
  }
  return { ids, labels };
}

/** Parses and encodes a JSONL dataset; refuses a file with bad lines or with no usable example. */
export async function encodeDataset(
  text: string,
  tok: DatasetTokenizer,
  maxLength: number,
  what = 'training file',
): Promise<EncodedDataset> {
  const parsed = parseDataset(text);
  if (parsed.errorCount > 0) invalid('bad_dataset', `${what}: ${describeErrors(parsed.errors, parsed.errorCount)}.`, what);
  let truncated = 0;
  let dropped = 0;
  const encoded: EncodedExample[] = [];
  for (let i = 0; i < parsed.examples.length; i += ENCODE_AT_ONCE)
    encoded.push(...(await Promise.all(parsed.examples.slice(i, i + ENCODE_AT_ONCE).map((ex) => encodeExample(ex, tok)))));
  const examples: EncodedExample[] = [];
  for (const e of encoded) {
    if (e.ids.length > maxLength) {
      truncated++;
      e.ids.length = maxLength;
      e.labels.length = maxLength;
    }
    // The first token is never a target (nothing predicts it), so a usable example has a label after it.
    if (!e.labels.slice(1).some((l) => l !== IGNORE)) {
      dropped++;
      continue;
    }
    examples.push(e);
  }
  if (examples.length === 0) {
    invalid(
      'empty_dataset',
      `${what} has no usable example (${parsed.examples.length} parsed, ${dropped} left with no completion tokens after truncation to ${maxLength}); nothing to train on.`,
      what,
    );
  }
  return { examples, truncated, dropped };
}

/** Batches in the given order, right-padded to a multiple of `bucket` tokens. */
export function makeBatches(examples: EncodedExample[], order: number[], batchSize: number, padId: number, bucket = 16): TokenBatch[] {
  const batches: TokenBatch[] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const rows = order.slice(i, i + batchSize).map((k) => examples[k]);
    const longest = Math.max(...rows.map((r) => r.ids.length));
    const seq = Math.ceil(longest / bucket) * bucket;
    const B = batchSize; // a short last batch is padded with empty rows so its graph shape matches the others
    const inputIds = new Int32Array(B * seq).fill(padId);
    const labels = new Int32Array(B * seq).fill(IGNORE);
    const lengths = new Array<number>(B).fill(1);
    rows.forEach((r, b) => {
      inputIds.set(r.ids, b * seq);
      labels.set(r.labels, b * seq);
      lengths[b] = r.ids.length;
    });
    batches.push({ batch: B, seq, inputIds, labels, lengths });
  }
  return batches;
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
