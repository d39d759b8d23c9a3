/**
 * A model folder's tokenizer: `tokenizer.json` through @huggingface/tokenizers (the same tokenizer files
 * transformers reads), plus `tokenizer_config.json` for special tokens and the chat template, rendered with
 * @huggingface/jinja as transformers' `apply_chat_template` does. It runs in the thread that calls it: serving runs
 * a tenant's files through served-tokenizer.ts instead, which keeps only decoding here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { utf8Bytes } from '../../contracts/api/openai.ts';
import { invalid } from '../../contracts/formats/errors.ts';

export interface TokenPiece {
  text: string;
  bytes: number[];
}

/** GPT-2's byte-level alphabet read backwards: the character a byte-level vocabulary writes for each byte. */
const BYTE_OF_CHAR = (() => {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return map;
})();

export interface ChatMessage {
  role: string;
  content: string;
}

export class TextTokenizer {
  private readonly template: Template | null;

  /** Bounds the bytes of text one token covers (see longestToken). */
  readonly longestTokenBytes: number;
  private readonly byteLevel: boolean;
  private readonly byteFallback: boolean;
  private readonly pieces = new Map<number, TokenPiece>();

  /** `json` is the parsed tokenizer.json `tokenizer` was built from, when there is one. */
  constructor(
    private readonly tokenizer: Tokenizer,
    readonly config: Record<string, unknown>,
    json: unknown = null,
  ) {
    const chat = config.chat_template;
    this.template = typeof chat === 'string' ? new Template(chat) : null;
    this.longestTokenBytes = json ? longestToken(json) : Number.POSITIVE_INFINITY;
    this.byteLevel = json ? JSON.stringify((json as { decoder?: unknown }).decoder ?? null).includes('"ByteLevel"') : false;
    this.byteFallback = (json as { model?: { byte_fallback?: unknown } } | null | undefined)?.model?.byte_fallback === true;
  }

  static async load(dir: string): Promise<TextTokenizer> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    } catch {
      invalid('missing_tokenizer', `no readable tokenizer.json in ${dir}; text requests need the model's tokenizer.`);
    }
    const config = (await readFile(join(dir, 'tokenizer_config.json'), 'utf8').then(JSON.parse, () => ({}))) as Record<string, unknown>;
    return new TextTokenizer(new Tokenizer(json as object, config), config, json);
  }

  /**
   * The most bytes of text that can fit in `tokens` tokens: no token covers more than longestTokenBytes, so a
   * longer text has more tokens than that, and is refused without tokenizing it.
   */
  maxBytesFor(tokens: number): number {
    return tokens * this.longestTokenBytes;
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  private specialId(key: string): number | null {
    const tok = this.config[key];
    const text = typeof tok === 'string' ? tok : (tok as { content?: string } | undefined)?.content;
    return text === undefined ? null : (this.tokenizer.token_to_id(text) ?? null);
  }

  get bosId(): number | null {
    return this.specialId('bos_token');
  }

  get eosId(): number | null {
    return this.specialId('eos_token');
  }

  /** Token ids of `text`; special tokens written in the text (e.g. `<|user|>`) map to their ids. */
  encode(text: string, addSpecialTokens = false): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    // tokenizers.js throws on an empty list, which a generation whose first token ends it leaves behind.
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }

  /**
   * One token alone, as OpenAI's logprobs show it: its text and the bytes it stands for (a byte-level token
   * may hold part of a character, whose text alone is then U+FFFD while its bytes are exact).
   */
  piece(id: number): TokenPiece {
    let piece = this.pieces.get(id);
    if (!piece) {
      const raw = this.tokenizer.id_to_token(id) ?? '';
      const special = this.tokenizer.get_added_tokens_decoder().has(id);
      const byteFallback = /^<0x([0-9A-Fa-f]{2})>$/.exec(raw);
      let bytes: number[];
      if (raw === '') bytes = [];
      else if (byteFallback && !special) bytes = [Number.parseInt(byteFallback[1], 16)];
      else if (this.byteLevel && !special) bytes = Array.from(raw, (ch) => BYTE_OF_CHAR.get(ch) ?? 0x3f);
      else bytes = Array.from(new TextEncoder().encode(special ? raw : this.decode([id], false)));
      piece = { text: new TextDecoder().decode(Uint8Array.from(bytes)), bytes };
      this.pieces.set(id, piece);
    }
    return piece;
  }

  /**
   * Every token's stored string, by id (gaps as ""), and how those strings stand for bytes: what a grammar
   * engine needs to know which tokens can continue a text.
   */
  vocabulary(): { tokens: string[]; type: 'raw' | 'byte_level' | 'byte_fallback' } {
    const tokens: string[] = [];
    for (const [token, id] of this.tokenizer.get_vocab(true)) tokens[id] = token;
    return {
      tokens: Array.from(tokens, (t) => t ?? ''),
      type: this.byteLevel ? 'byte_level' : this.byteFallback ? 'byte_fallback' : 'raw',
    };
  }

  /** Renders messages with the chat template (a plain "role: content" layout when the model has none). */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.template) return messages.map((m) => `${m.role}: ${m.content}\n`).join('') + (addGenerationPrompt ? 'assistant: ' : '');
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.config.bos_token ?? '',
      eos_token: this.config.eos_token ?? '',
    });
  }
}

/**
 * The UTF-8 length of the longest token string in tokenizer.json (vocabulary and added tokens). The stored forms
 * are never shorter than the text they stand for (byte-level "Ġ" is 2 bytes for a 1-byte space, SentencePiece's
 * "▁" 3 for 1, "<0x0A>" 6 for 1), so this bounds the bytes of input one token covers. A normalizer that shortens
 * text (NFKC folding a ligature) could break that; the default model's and the byte-level or byte-fallback BPEs of
 * Llama, Qwen, Mistral and SmolLM do not.
 */
export function longestToken(json: unknown): number {
  const { model, added_tokens } = json as {
    model?: { type?: unknown; vocab?: unknown; fuse_unk?: unknown };
    added_tokens?: { content?: unknown }[];
  };
  // An unknown word (WordPiece) or a run of unknown characters (fuse_unk) becomes one token of any length: no bound.
  if (model?.type === 'WordPiece' || model?.fuse_unk === true) return Number.POSITIVE_INFINITY;
  const vocab = model?.vocab;
  // BPE and WordPiece store a {token: id} map, Unigram a list of [piece, score].
  const pieces: unknown[] = Array.isArray(vocab) ? vocab.map((v) => (Array.isArray(v) ? v[0] : v)) : Object.keys(vocab ?? {});
  for (const t of added_tokens ?? []) pieces.push(t.content);
  let longest = 0;
  for (const p of pieces) if (typeof p === 'string') longest = Math.max(longest, utf8Bytes(p));
  return longest > 0 ? longest : Number.POSITIVE_INFINITY;
}
