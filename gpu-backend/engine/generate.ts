/**
 * Continuous batching over one Decoder: requests wait in a queue; whenever batch rows are free, waiting requests
 * are prefilled together and join the running batch; every decode step advances all running rows (each with its
 * own adapter) by one token; a row that finishes is swap-removed so the batch stays dense.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { maxContext } from '../../contracts/formats/hf-config.ts';
import type { Decoder } from './decoder.ts';
import { KvCache } from './kv-cache.ts';
import { LoraRows } from './lora-rows.ts';
import { checkSharedTask, type SharedTask } from './shared-basis-rows.ts';
import { pooledEmbedding, type Pooling } from './embedding.ts';
import { type PrefillOutput, prefill } from './prefill.ts';
import { rng, sample, tokenLogprobs, type SamplingParams, type TokenLogprobs } from './sampling.ts';

export interface GenerationRequest extends SamplingParams {
  prompt: number[];
  adapter: LoraAdapter | null;
  /**
   * A task of a shared basis instead of an adapter (`adapter` must then be null): its row reads the basis' V and Uᵀ,
   * which rows of the same basis share, and its own core (lora-rows.ts).
   */
  shared?: SharedTask;
  maxTokens: number;
  /** Token ids that end the generation (the stop token is kept in the output, as transformers does). */
  stop?: number[];
  seed?: number;
  /** Called with each new token as it is chosen. */
  onToken?: (token: number) => void;
  /** Checked after each token: true ends the generation as stopped (e.g. a stop string appeared in the text). */
  stopWhen?: (tokens: number[]) => boolean;
  /** An aborted request leaves the batch at the next step (the client went away). */
  signal?: AbortSignal;
  /** Asks for each chosen token's log-probability and its `top` likeliest alternatives, reported before onToken. */
  logprobs?: { top: number; onToken: (lp: TokenLogprobs) => void };
  /** Limits each next token to those a grammar allows (structured output); a row without one pays nothing. */
  constraint?: TokenConstraint;
  /**
   * An embedding instead of a generation: the row ends at its prefill with the prompt's pooled hidden state
   * (embedding.ts), takes no cache and samples nothing; `maxTokens` and the sampling fields are not used.
   */
  embedding?: Pooling;
}

/** A grammar's state for one row: which tokens may come next, fed each chosen token, done once it has ended. */
export interface TokenConstraint {
  /** Allowed next tokens as a bitmask (bit t%32 of word t>>5), at least vocabSize bits. */
  nextMask(): Promise<Int32Array>;
  accept(token: number): void;
  /** The grammar has ended (its stop token was accepted): the row ends as stopped. */
  readonly done: boolean;
}

export interface GenerationResult {
  tokens: number[];
  finishReason: 'stop' | 'length' | 'cancelled';
  /** The pooled, unit-length embedding of an `embedding` request. */
  embedding?: Float32Array;
}

export interface BatchOptions {
  /** Most rows decoded together (default 32). */
  maxBatch?: number;
}

export interface Row {
  req: GenerationRequest;
  /** Position of the request in the caller's list (results are reported by it). */
  index: number;
  tokens: number[];
  random: () => number;
  /** Set when an embedding row's prefill has run. */
  embedding?: Float32Array;
}

export function newRow(req: GenerationRequest, index: number): Row {
  return { req, index, tokens: [], random: rng(req.seed ?? index) };
}

export function checkRequest(decoder: Decoder, r: GenerationRequest, label = 'request'): void {
  const cfg = decoder.cfg;
  const limit = maxContext(cfg);
  if (r.prompt.length === 0) invalid('empty_prompt', `${label}: the prompt has no tokens.`, 'prompt');
  if (r.prompt.some((t) => !Number.isInteger(t) || t < 0 || t >= cfg.vocabSize))
    invalid('bad_token', `${label}: prompt token ids must be integers in [0, ${cfg.vocabSize}).`, 'prompt');
  if (r.embedding) {
    if (r.prompt.length > limit)
      invalid(
        'context_too_long',
        `${label}: the input (${r.prompt.length} tokens) exceeds the model's context of ${limit} tokens.`,
        'input',
      );
    return;
  }
  if (!Number.isInteger(r.maxTokens) || r.maxTokens < 1)
    invalid('bad_max_tokens', `${label}: max_tokens must be a positive integer.`, 'max_tokens');
  if (r.prompt.length + r.maxTokens > limit)
    invalid(
      'context_too_long',
      `${label}: prompt (${r.prompt.length} tokens) + max_tokens (${r.maxTokens}) exceeds the model's context of ${limit} tokens.`,
      'max_tokens',
    );
  if (r.temperature !== undefined && !(r.temperature >= 0))
    invalid('bad_temperature', `${label}: temperature must be >= 0.`, 'temperature');
  if (r.topP !== undefined && !(r.topP > 0 && r.topP <= 1)) invalid('bad_top_p', `${label}: top_p must be in (0, 1].`, 'top_p');
  if (r.shared) {
    if (r.adapter) invalid('adapter_and_shared', `${label}: give an adapter or a shared-basis task, not both.`, 'model');
    checkSharedTask(r.shared, label);
  }
}

export async function generate(decoder: Decoder, requests: GenerationRequest[], opts: BatchOptions = {}): Promise<GenerationResult[]> {
  requests.forEach((r, i) => checkRequest(decoder, r, `request ${i}`));
  const batch = new RunningBatch(decoder, Math.max(1, Math.min(opts.maxBatch ?? 32, requests.length)));
  const results: GenerationResult[] = new Array(requests.length);
  batch.onFinish = (row, reason) => (results[row.index] = { tokens: row.tokens, finishReason: reason, embedding: row.embedding });
  let next = 0;
  while (next < requests.length || batch.size > 0) {
    const free = batch.capacity - batch.size;
    if (free > 0 && next < requests.length) {
      const admitted = requests.slice(next, next + free).map((req, k) => newRow(req, next + k));
      next += admitted.length;
      await batch.admit(admitted);
    }
    if (batch.size > 0) await batch.decode();
  }
  return results;
}

/** The rows being generated, with their KV cache and adapter slots. */
export class RunningBatch {
  private readonly rows: Row[] = [];
  private readonly cache: KvCache;
  private readonly lora: LoraRows;
  onFinish: (row: Row, reason: GenerationResult['finishReason']) => void = () => {};

  constructor(
    private readonly decoder: Decoder,
    readonly capacity: number,
    /** Positions per prefill step (prefill.ts; default PREFILL_CHUNK). */
    private readonly prefillChunk?: number,
  ) {
    this.cache = new KvCache(decoder.cfg, capacity);
    this.lora = new LoraRows(decoder.cfg, capacity);
  }

  get size(): number {
    return this.rows.length;
  }

  /** Cache positions each decode step reads per row (the cache's capacity; 0 when no row holds any). */
  get cachePositions(): number {
    return this.cache.capacity;
  }

  /**
   * Prefills `admitted` together and appends them as rows, each with its first token; embedding rows, prefilled
   * in the same run, finish there with their pooled hidden state.
   */
  async admit(rows: Row[]): Promise<void> {
    const cfg = this.decoder.cfg;
    // Generating rows first: rows [0, generating.length) of the step's output are the ones that join the batch.
    const generating = rows.filter((r) => !r.req.embedding);
    const admitted = [...generating, ...rows.filter((r) => r.req.embedding)];
    const n = admitted.length;
    const lengths = admitted.map((a) => a.req.prompt.length);
    const seq = Math.max(...lengths);
    const tokens = new Array<number>(n * seq).fill(0);
    admitted.forEach((a, i) => a.req.prompt.forEach((t, j) => (tokens[i * seq + j] = t)));
    const sources = admitted.map((a) => a.req.shared ?? a.req.adapter);
    // The prefill reads its rows' factors where they will decode, rows [base, base + n), written once for both, and
    // writes their keys and values into the same rows of the cache.
    const base = this.rows.length;
    if (base + n > this.capacity) throw new Error(`admitting ${n} rows to a batch with ${this.capacity - base} free`);
    sources.forEach((s, i) => this.lora.set(base + i, s));
    this.fitCache(lengths);
    let out: PrefillOutput;
    try {
      out = await prefill(this.decoder, {
        tokens,
        rows: n,
        seq,
        lengths,
        lora: this.lora.range(base),
        cache: this.cache,
        firstRow: base,
        keptRows: generating.length,
        hidden: admitted.length > generating.length,
        chunk: this.prefillChunk,
      });
    } catch (e) {
      for (let i = 0; i < n; i++) {
        this.lora.set(base + i, null);
        this.cache.clear(base + i);
      }
      throw e;
    }
    // Embedding rows end here: their rows are free again.
    for (let i = generating.length; i < n; i++) this.lora.set(base + i, null);

    admitted.forEach((a, i) => {
      const pooling = a.req.embedding;
      if (!pooling || !out.hidden) return;
      a.embedding = pooledEmbedding(out.hidden, cfg.hiddenSize, seq, i, lengths[i], pooling);
      this.onFinish(a, 'stop');
    });
    if (generating.length === 0) {
      this.fitCache();
      return;
    }
    this.rows.push(...generating);
    await this.acceptAll(out.logits, base);
  }

  /** One decode step for every row (rows whose request was aborted leave first). */
  async decode(): Promise<void> {
    const cfg = this.decoder.cfg;
    for (let row = this.rows.length - 1; row >= 0; row--) if (this.rows[row].req.signal?.aborted) this.finish(row, 'cancelled');
    const n = this.rows.length;
    this.fitCache();
    if (n === 0) return;
    const out = await this.decoder.step({
      tokens: this.rows.map((r) => r.tokens[r.tokens.length - 1]),
      rows: n,
      seq: 1,
      newLengths: new Array(n).fill(1),
      cache: this.cache,
      lora: this.lora,
      logitsAt: new Array(n).fill([0]),
    });
    for (let row = 0; row < n; row++) {
      for (let l = 0; l < cfg.numLayers; l++) this.cache.write(l, row, out.present[l], row, 1, 0, 1);
      this.cache.advance(row, 1);
    }
    await this.acceptAll(out.logits, 0);
  }

  /**
   * Fits the cache to the positions the rows hold (and `joining` rows' prompts) plus the one the next step writes:
   * each step reads the whole capacity, so it must not stay at the longest request served (kv-cache.ts).
   */
  private fitCache(joining: number[] = []): void {
    const held = this.rows.map((_, row) => this.cache.lengths[row]).concat(joining);
    this.cache.fit(held.length === 0 ? 0 : Math.max(...held) + 1);
  }

  /** Samples a token for rows [from, size) from `logits` (row i of logits = row from+i). */
  private async acceptAll(logits: Float32Array, from: number): Promise<void> {
    const vocab = this.decoder.cfg.vocabSize;
    const masks = await Promise.all(this.rows.slice(from).map((r) => r.req.constraint?.nextMask()));
    // From the end backwards, so a swap-removal only ever moves a row already handled.
    for (let row = this.rows.length - 1; row >= from; row--) {
      const r = this.rows[row];
      const i = row - from;
      const rowLogits = logits.subarray(i * vocab, (i + 1) * vocab);
      const token = sample(rowLogits, r.req, r.random, masks[i]);
      r.req.constraint?.accept(token);
      if (r.req.logprobs) r.req.logprobs.onToken(tokenLogprobs(rowLogits, token, r.req.logprobs.top));
      r.tokens.push(token);
      r.req.onToken?.(token);
      if (r.req.stop?.includes(token) || r.req.stopWhen?.(r.tokens) || r.req.constraint?.done) this.finish(row, 'stop');
      else if (r.tokens.length >= r.req.maxTokens) this.finish(row, 'length');
    }
    if (this.rows.length === 0) this.fitCache();
  }

  /** Drops every row (after an engine failure). */
  clear(): void {
    for (let row = this.rows.length - 1; row >= 0; row--) {
      this.cache.clear(row);
      this.lora.set(row, null);
    }
    this.rows.length = 0;
    this.fitCache();
  }

  private finish(row: number, reason: GenerationResult['finishReason']): void {
    this.onFinish(this.rows[row], reason);
    const last = this.rows.length - 1;
    this.rows[row] = this.rows[last];
    this.rows.pop();
    this.cache.move(last, row);
    this.lora.move(last, row);
  }
}
