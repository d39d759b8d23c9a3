/**
 * A model folder's tokenizer: `tokenizer.json` through @huggingface/tokenizers (the same tokenizer files
 * transformers reads), plus `tokenizer_config.json` for special tokens and the chat template, rendered with
 * @huggingface/jinja as transformers' `apply_chat_template` does.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { invalid } from '../../contracts/formats/errors.ts';

export interface ChatMessage {
  role: string;
  content: string;
}

export class TextTokenizer {
  private readonly template: Template | null;

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly config: Record<string, unknown>,
  ) {
    const chat = config.chat_template;
    this.template = typeof chat === 'string' ? new Template(chat) : null;
  }

  static async load(dir: string): Promise<TextTokenizer> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    } catch {
      invalid('missing_tokenizer', `no readable tokenizer.json in ${dir}; text requests need the model's tokenizer.`);
    }
    const config = (await readFile(join(dir, 'tokenizer_config.json'), 'utf8').then(JSON.parse, () => ({}))) as Record<string, unknown>;
    return new TextTokenizer(new Tokenizer(json as object, config), config);
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
