/**
 * JSON output under a schema, through xgrammar: one TokenizerInfo per tokenizer (built once and kept), one
 * compiled grammar per schema (kept in a small cache), and one GrammarMatcher per generated row. Output is
 * compact JSON (no whitespace between elements): the same text for every model, and no row can spend its
 * tokens on whitespace.
 */
import type { CompiledGrammar, GrammarCompiler, GrammarMatcher } from '@mlc-ai/web-xgrammar';
import { invalid } from '../../contracts/formats/errors.ts';
import type { TokenConstraint } from '../engine/generate.ts';
import type { TextTokenizer } from '../formats/tokenizer.ts';

/** What a grammar needs of a tokenizer: its vocabulary (TextTokenizer.vocabulary). */
export type Vocabulary = Pick<TextTokenizer, 'vocabulary'>;
import { loadXgrammar, saying } from './xgrammar.ts';

/** The JSON modes of `response_format` (contracts/api/openai.ts). */
export type JsonFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null } };

/** Compiled schemas kept per tokenizer; beyond this, the least recently used is dropped. */
const MAX_COMPILED = 64;

/** A row's matcher as the engine's TokenConstraint; disposed by its owner once the row has finished. */
export class MatcherConstraint implements TokenConstraint {
  constructor(private readonly matcher: GrammarMatcher) {}

  nextMask(): Promise<Int32Array> {
    return this.matcher.getNextTokenBitmask();
  }

  accept(token: number): void {
    // The token was sampled under this matcher's own mask, so a refusal is a bug, not a user error.
    if (!this.matcher.acceptToken(token)) throw new Error(`the JSON grammar refused token ${token}, which its own mask allowed`);
  }

  get done(): boolean {
    return this.matcher.isTerminated();
  }

  dispose(): void {
    this.matcher.dispose();
  }
}

/** A compiled JSON grammar: each row gets its own matcher from it. */
export class JsonGrammar {
  constructor(
    private readonly compiled: CompiledGrammar,
    private readonly newMatcher: (c: CompiledGrammar) => Promise<GrammarMatcher>,
  ) {}

  async constraint(): Promise<MatcherConstraint> {
    return new MatcherConstraint(await this.newMatcher(this.compiled));
  }
}

export class JsonGrammars {
  private readonly compiled = new Map<string, Promise<JsonGrammar>>();
  /** Milliseconds each compilation took (the newest last), for the logs and the benchmark. */
  readonly compileMs: number[] = [];

  private constructor(
    private readonly compiler: GrammarCompiler,
    private readonly newMatcher: (c: CompiledGrammar) => Promise<GrammarMatcher>,
  ) {}

  static async create(tokenizer: Vocabulary, vocabSize: number, stop: number[]): Promise<JsonGrammars> {
    const xg = await loadXgrammar();
    const { tokens, type } = tokenizer.vocabulary();
    const info = await xg.TokenizerInfo.createTokenizerInfo(tokens, type, false, vocabSize, stop);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info);
    return new JsonGrammars(compiler, (c) => xg.GrammarMatcher.createGrammarMatcher(c));
  }

  /** The grammar of `format`, compiled once per schema; a schema xgrammar cannot compile is a 400 saying why. */
  grammar(format: JsonFormat): Promise<JsonGrammar> {
    // json_object is any object: a schema of type object with any properties.
    const schema = format.type === 'json_object' ? { type: 'object' } : (format.json_schema.schema ?? { type: 'object' });
    const key = `${format.type}\n${JSON.stringify(schema)}`;
    let grammar = this.compiled.get(key);
    if (grammar) {
      this.compiled.delete(key);
      this.compiled.set(key, grammar);
      return grammar;
    }
    grammar = this.compile(JSON.stringify(schema), format.type === 'json_schema');
    this.compiled.set(key, grammar);
    grammar.catch(() => this.compiled.delete(key));
    // Dropped grammars are not disposed: rows still running may hold matchers made from them.
    while (this.compiled.size > MAX_COMPILED) this.compiled.delete(this.compiled.keys().next().value as string);
    return grammar;
  }

  private async compile(schema: string, strict: boolean): Promise<JsonGrammar> {
    const started = performance.now();
    let compiled: CompiledGrammar;
    try {
      // Compact separators, one line; strict: no properties or items beyond the schema's (json_object: any).
      compiled = await saying(() => this.compiler.compileJSONSchema(schema, false, -1, [',', ':'], strict));
    } catch (err) {
      invalid(
        'unsupported_json_schema',
        `response_format's JSON schema cannot be turned into a grammar: ${err instanceof Error ? err.message : String(err)}. Change or leave out that part of the schema.`,
        'response_format',
      );
    }
    this.compileMs.push(performance.now() - started);
    if (this.compileMs.length > 100) this.compileMs.shift();
    return new JsonGrammar(compiled, this.newMatcher);
  }
}

const grammarsByTokenizer = new WeakMap<Vocabulary, Promise<JsonGrammars>>();

/** The JSON grammars of a tokenizer, its TokenizerInfo built on first use and kept while the tokenizer lives. */
export function jsonGrammarsFor(tokenizer: Vocabulary, vocabSize: number, stop: number[]): Promise<JsonGrammars> {
  let grammars = grammarsByTokenizer.get(tokenizer);
  if (!grammars) {
    grammars = JsonGrammars.create(tokenizer, vocabSize, stop);
    grammarsByTokenizer.set(tokenizer, grammars);
  }
  return grammars;
}
