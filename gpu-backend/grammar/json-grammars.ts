/**
 * JSON output under a schema, through xgrammar, on a thread of its own per tokenizer (grammar-worker.ts): one
 * TokenizerInfo per tokenizer (built once and kept), one compiled grammar per schema (kept in a small cache, and
 * disposed once dropped from it and no row uses it), and one GrammarMatcher per generated row. Compiling a large
 * schema takes seconds of WASM; on that thread it leaves the serving thread's steps running (only rows that wait
 * for a mask from the same thread wait with it). Output is compact JSON (no whitespace between elements): the
 * same text for every model, and no row can spend its tokens on whitespace.
 */
import { Worker } from 'node:worker_threads';
import { invalid } from '../../contracts/formats/errors.ts';
import type { TokenConstraint } from '../engine/generate.ts';
import type { TextTokenizer } from '../formats/tokenizer.ts';
import type { Answer, Request, ThreadData } from './grammar-protocol.ts';

/** What a grammar needs of a tokenizer: its vocabulary (TextTokenizer.vocabulary). */
export type Vocabulary = Pick<TextTokenizer, 'vocabulary'>;

/** The JSON modes of `response_format` (contracts/api/openai.ts). */
export type JsonFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null } };

/** Compiled schemas kept per tokenizer; beyond this, the least recently used is dropped. */
const MAX_COMPILED = 64;

type Asked = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type Told = Exclude<Request, { id: number }>;

/** The serving side of one grammar thread: requests answered by id, in the order sent. */
class GrammarThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | null = null;
  readonly ready: Promise<Answer>;

  constructor(data: ThreadData) {
    // Its own loader (tsx, registered by the thread), not the parent's flags.
    this.worker = new Worker(new URL('./grammar-thread.js', import.meta.url), { workerData: data, execArgv: [] });
    // A thread kept for a tokenizer must not keep the process alive.
    this.worker.unref();
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
    this.worker.on('message', (a: Answer) => {
      const waiting = this.pending.get(a.id);
      this.pending.delete(a.id);
      if (a.error !== undefined) waiting?.reject(new Error(a.error));
      else waiting?.resolve(a);
    });
    const fail = (err: Error) => {
      this.failed ??= err;
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the grammar thread exited (${code})`)));
  }

  ask(req: Asked): Promise<Answer> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  tell(req: Told): void {
    if (!this.failed) this.worker.postMessage(req);
  }

  /** Refuses every question from now on (one already posted could otherwise be answered), then ends the thread. */
  close(): Promise<number> {
    this.failed ??= new Error('the grammar thread exited (closed)');
    for (const w of this.pending.values()) w.reject(this.failed);
    this.pending.clear();
    return this.worker.terminate();
  }
}

/** A row's matcher as the engine's TokenConstraint; disposed by its owner once the row has finished. */
export class MatcherConstraint implements TokenConstraint {
  private ended = false;

  constructor(
    private readonly thread: GrammarThread,
    private readonly id: number,
    private readonly stop: number[],
  ) {}

  async nextMask(): Promise<Int32Array> {
    return (await this.thread.ask({ op: 'mask', matcher: this.id })).mask!;
  }

  accept(token: number): void {
    this.thread.tell({ op: 'accept', matcher: this.id, token });
    // xgrammar's matcher terminates exactly when it accepts one of the tokenizer's stop tokens.
    if (this.stop.includes(token)) this.ended = true;
  }

  get done(): boolean {
    return this.ended;
  }

  dispose(): void {
    this.thread.tell({ op: 'dispose', matcher: this.id });
  }
}

let matcherIds = 0;

/** A compiled JSON grammar, held by the grammar thread: each row gets its own matcher from it. */
export class JsonGrammar {
  constructor(
    private readonly thread: GrammarThread,
    private readonly id: number,
    private readonly stop: number[],
  ) {}

  async constraint(): Promise<MatcherConstraint> {
    const matcher = ++matcherIds;
    await this.thread.ask({ op: 'matcher', grammar: this.id, matcher });
    return new MatcherConstraint(this.thread, matcher, this.stop);
  }

  /** Dropped from the cache: the thread disposes it once no matcher made from it is left. */
  release(): void {
    this.thread.tell({ op: 'release', grammar: this.id });
  }
}

export class JsonGrammars {
  private readonly compiled = new Map<string, Promise<JsonGrammar>>();
  /** Milliseconds each compilation took (the newest last), for the logs and the benchmark. */
  readonly compileMs: number[] = [];
  private grammarIds = 0;

  private constructor(
    private readonly thread: GrammarThread,
    private readonly stop: number[],
    private readonly maxCompiled: number,
  ) {}

  static async create(
    tokenizer: Vocabulary,
    vocabSize: number,
    stop: number[],
    opts: { maxCompiled?: number } = {},
  ): Promise<JsonGrammars> {
    const { tokens, type } = tokenizer.vocabulary();
    const thread = new GrammarThread({ tokens, type, vocabSize, stop });
    await thread.ready;
    return new JsonGrammars(thread, stop, opts.maxCompiled ?? MAX_COMPILED);
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
    while (this.compiled.size > this.maxCompiled) {
      const oldest = this.compiled.keys().next().value as string;
      // Rows still running keep their matchers: the thread disposes the grammar after the last of them.
      void this.compiled.get(oldest)!.then(
        (g) => g.release(),
        () => {},
      );
      this.compiled.delete(oldest);
    }
    return grammar;
  }

  /** What the grammar thread holds now: compiled grammars and matchers (for tests). */
  async held(): Promise<{ grammars: number; matchers: number }> {
    const a = await this.thread.ask({ op: 'stats' });
    return { grammars: a.grammars!, matchers: a.matchers! };
  }

  /** Ends the grammar thread (and everything it holds). */
  close(): Promise<number> {
    return this.thread.close();
  }

  private async compile(schema: string, strict: boolean): Promise<JsonGrammar> {
    const id = ++this.grammarIds;
    let ms: number;
    try {
      ms = (await this.thread.ask({ op: 'compile', grammar: id, schema, strict })).ms!;
    } catch (err) {
      invalid(
        'unsupported_json_schema',
        `response_format's JSON schema cannot be turned into a grammar: ${err instanceof Error ? err.message : String(err)}. Change or leave out that part of the schema.`,
        'response_format',
      );
    }
    this.compileMs.push(ms);
    if (this.compileMs.length > 100) this.compileMs.shift();
    return new JsonGrammar(this.thread, id, this.stop);
  }
}

const grammarsByTokenizer = new WeakMap<Vocabulary, Promise<JsonGrammars>>();
/** A tokenizer collected without closeJsonGrammars ends its grammar thread too. */
const closeWhenGone = new FinalizationRegistry<Promise<JsonGrammars>>((grammars) => {
  void grammars.then(
    (g) => g.close(),
    () => {},
  );
});

/** The JSON grammars of a tokenizer, its grammar thread started on first use and kept while the tokenizer lives. */
export function jsonGrammarsFor(tokenizer: Vocabulary, vocabSize: number, stop: number[]): Promise<JsonGrammars> {
  let grammars = grammarsByTokenizer.get(tokenizer);
  if (!grammars) {
    grammars = JsonGrammars.create(tokenizer, vocabSize, stop);
    grammarsByTokenizer.set(tokenizer, grammars);
    closeWhenGone.register(tokenizer, grammars, tokenizer);
  }
  return grammars;
}

/** Ends a tokenizer's grammar thread, if it has one (its base model was evicted); resolves once it has ended. */
export async function closeJsonGrammars(tokenizer: Vocabulary): Promise<void> {
  const grammars = grammarsByTokenizer.get(tokenizer);
  if (!grammars) return;
  grammarsByTokenizer.delete(tokenizer);
  closeWhenGone.unregister(tokenizer);
  await grammars.then(
    (g) => g.close(),
    () => {},
  );
}
