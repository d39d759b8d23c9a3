/**
 * A base model's tokenizer as serving uses it. tokenizer.json and the chat template are the tenant's own files, so
 * tokenizing and rendering run in the model's sandbox (tokenizer-sandbox.ts), with a deadline and a memory cap.
 * Decoding stays on the serving thread, per token, with a copy of tokenizer.json that has no normalizer,
 * pre-tokenizer or post-processor (the parts that run a file's patterns over request text) and a decoder without
 * regular expressions. A problem with the files is a 4xx that names the file and what is wrong, found when the model
 * loads where it can be (a short text is tokenized and a one-message conversation rendered); a broken chat template
 * refuses chat completions only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { MAX_RENDERED_PROMPT_BYTES } from '../../contracts/api/openai.ts';
import { type InvalidInputError, TransientFailure } from '../../contracts/formats/errors.ts';
import {
  MAX_TOKENIZER_CONFIG_BYTES,
  templateProblem,
  tokenizerConfigProblem,
  tokenizerProblem,
} from '../../contracts/formats/tokenizer-problems.ts';
import { DEFAULT_TOKENIZER_LIMITS, SandboxFailure, TokenizerSandbox, type TokenizerLimits } from './tokenizer-sandbox.ts';
import { type ChatMessage, TextTokenizer, type TokenPiece } from './tokenizer.ts';

/** What the load check tokenizes and renders: text and a conversation every real tokenizer and template take. */
const SAMPLE_TEXT = 'Hello, world! 123';
const SAMPLE_CHAT: ChatMessage[] = [{ role: 'user', content: 'Hello!' }];

/** The 4xx for a failure of the sandbox; `input` says what it was given ("this text", "these messages"). */
function problemOf(err: SandboxFailure, input: string): InvalidInputError {
  const { kind, stage, detail } = err;
  if (stage === 'render') {
    if (kind === 'syntax') return templateProblem(`has a syntax error (${detail})`);
    if (kind === 'deadline') return templateProblem(`ran longer than the ${detail} a template may take to render ${input}`);
    if (kind === 'memory') return templateProblem(`needed more than the ${detail} of memory a template may use to render ${input}`);
    if (kind === 'output')
      return templateProblem(
        `rendered ${detail} for ${input}, more than the ${MAX_RENDERED_PROMPT_BYTES} bytes a rendered conversation may take`,
      );
    return templateProblem(`could not render ${input} (${detail})`);
  }
  const doing = stage === 'load' ? 'to load' : `to tokenize ${input}`;
  if (kind === 'deadline')
    return tokenizerProblem(
      `ran longer than the ${detail} a tokenizer may take ${doing} (a normalizer or pre-tokenizer pattern that backtracks does this)`,
    );
  if (kind === 'memory') return tokenizerProblem(`needed more than the ${detail} of memory a tokenizer may use ${doing}`);
  return tokenizerProblem(stage === 'load' ? `cannot be loaded (${detail})` : `could not tokenize ${input} (${detail})`);
}

/** A process that died under us is our failure, retryable; anything its files explain is the user's 4xx. */
function asFailure(err: SandboxFailure, input: string): InvalidInputError | TransientFailure {
  if (err.kind === 'stopped')
    return new TransientFailure('tokenizer_restarted', `The tokenizer process stopped while handling ${input} (${err.detail}); retry.`);
  return problemOf(err, input);
}

/** Rethrows a sandbox failure as the user's 4xx or our retryable 503; anything else as it is. */
function asProblem(input: string): (err: unknown) => never {
  return (err) => {
    throw err instanceof SandboxFailure ? asFailure(err, input) : err;
  };
}

export class ServedTokenizer {
  private constructor(
    /** Decoding, special tokens and token bounds, on the serving thread; null when the files are broken. */
    private readonly decoding: TextTokenizer | null,
    private readonly sandbox: TokenizerSandbox | null,
    /** Why no text can be served (tokenizer.json or tokenizer_config.json is broken). */
    private readonly problem: InvalidInputError | null,
    /** Why chat completions cannot be served (the chat template is broken). */
    private readonly templateProblem: InvalidInputError | null,
    private readonly hasTemplate: boolean,
  ) {}

  /** The model folder's tokenizer, checked; null when the folder has no tokenizer.json. */
  static async load(dir: string, limits: TokenizerLimits = DEFAULT_TOKENIZER_LIMITS): Promise<ServedTokenizer | null> {
    const raw = await readFile(join(dir, 'tokenizer.json'), 'utf8').catch(() => null);
    if (raw === null) return null;
    const broken = (problem: InvalidInputError) => new ServedTokenizer(null, null, problem, null, false);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      return broken(tokenizerProblem(`is not valid JSON (${(err as Error).message})`));
    }
    let config: Record<string, unknown> = {};
    const rawConfig = await readFile(join(dir, 'tokenizer_config.json'), 'utf8').catch(() => null);
    if (rawConfig !== null && Buffer.byteLength(rawConfig) > MAX_TOKENIZER_CONFIG_BYTES)
      return broken(tokenizerConfigProblem(`is more than the ${MAX_TOKENIZER_CONFIG_BYTES} bytes a tokenizer_config.json may take`));
    try {
      if (rawConfig !== null) config = JSON.parse(rawConfig);
    } catch (err) {
      return broken(tokenizerConfigProblem(`is not valid JSON (${(err as Error).message})`));
    }
    // Decoding runs here, per generated token: a pattern of the file's own must not.
    if (JSON.stringify(json.decoder ?? null).includes('"Regex"'))
      return broken(tokenizerProblem('has a decoder with a regular expression (a Replace with "Regex"), which rankgate does not run'));
    const { chat_template: template, ...settings } = config;
    let decoding: TextTokenizer;
    try {
      // Merges are for encoding only: without them Llama-3's tokenizer.json builds here in a fraction of the time.
      const model = typeof json.model === 'object' && json.model !== null ? { model: { ...json.model, merges: [] } } : {};
      const decodeOnly = { ...json, ...model, normalizer: null, pre_tokenizer: null, post_processor: null };
      decoding = new TextTokenizer(new Tokenizer(decodeOnly, settings), settings, json);
    } catch (err) {
      return broken(tokenizerProblem(`cannot be loaded (${(err as Error).message})`));
    }
    const sandbox = new TokenizerSandbox(dir, limits);
    const hasTemplate = typeof template === 'string';
    try {
      await sandbox.load();
      await sandbox.encode(SAMPLE_TEXT, true);
    } catch (err) {
      await sandbox.close();
      if (!(err instanceof SandboxFailure)) throw err;
      const failure = asFailure(err, 'a short sample text');
      // A crash while checking is no verdict on the files: the next load checks them again.
      if (failure instanceof TransientFailure) throw failure;
      return broken(failure);
    }
    let chatProblem: InvalidInputError | null = null;
    if (hasTemplate)
      await sandbox.render(SAMPLE_CHAT, true, MAX_RENDERED_PROMPT_BYTES).catch((err) => {
        if (!(err instanceof SandboxFailure)) throw err;
        const failure = asFailure(err, 'a one-message conversation');
        if (failure instanceof TransientFailure) throw failure;
        chatProblem = failure;
      });
    return new ServedTokenizer(decoding, sandbox, null, chatProblem, hasTemplate);
  }

  /** Token ids of `text`, tokenized in the sandbox; special tokens written in the text map to their ids. */
  async encode(text: string, addSpecialTokens = false): Promise<number[]> {
    const sandbox = this.usable();
    return sandbox.encode(text, addSpecialTokens).catch(asProblem('this text'));
  }

  /** Renders messages with the chat template in the sandbox (a plain "role: content" layout when the model has none). */
  async applyChatTemplate(messages: ChatMessage[], addGenerationPrompt: boolean): Promise<string> {
    const sandbox = this.usable();
    if (this.templateProblem) throw this.templateProblem;
    if (!this.hasTemplate) return this.decoder().applyChatTemplate(messages, addGenerationPrompt);
    return sandbox.render(messages, addGenerationPrompt, MAX_RENDERED_PROMPT_BYTES).catch(asProblem('these messages'));
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return this.decoder().decode(ids, skipSpecialTokens);
  }

  piece(id: number): TokenPiece {
    return this.decoder().piece(id);
  }

  get bosId(): number | null {
    return this.decoder().bosId;
  }

  get eosId(): number | null {
    return this.decoder().eosId;
  }

  /** Every token's stored string and how it stands for bytes (TextTokenizer.vocabulary), for a grammar engine. */
  vocabulary(): ReturnType<TextTokenizer['vocabulary']> {
    return this.decoder().vocabulary();
  }

  /** Bounds the bytes of text one token covers (see longestToken). */
  get longestTokenBytes(): number {
    return this.decoder().longestTokenBytes;
  }

  /** The most bytes of text that can fit in `tokens` tokens (TextTokenizer.maxBytesFor). */
  maxBytesFor(tokens: number): number {
    return this.decoder().maxBytesFor(tokens);
  }

  /** Ends the sandbox's process (the model is unloaded). */
  close(): Promise<void> {
    return this.sandbox?.close() ?? Promise.resolve();
  }

  private usable(): TokenizerSandbox {
    if (this.problem || !this.sandbox) throw this.problem;
    return this.sandbox;
  }

  private decoder(): TextTokenizer {
    if (!this.decoding) throw this.problem;
    return this.decoding;
  }
}
