/** The messages between the serving thread (json-grammars.ts) and its grammar thread (grammar-worker.ts). */

/** What the thread starts with: the tokenizer's vocabulary as xgrammar takes it. */
export interface ThreadData {
  tokens: string[];
  type: string;
  vocabSize: number;
  stop: number[];
}

/** Requests with an `id` are answered with that id; the others are not answered. */
export type Request =
  | { op: 'compile'; id: number; grammar: number; schema: string; strict: boolean }
  | { op: 'release'; grammar: number }
  | { op: 'matcher'; id: number; grammar: number; matcher: number }
  | { op: 'mask'; id: number; matcher: number }
  | { op: 'accept'; matcher: number; token: number }
  | { op: 'dispose'; matcher: number }
  | { op: 'stats'; id: number };

/** id 0 says the thread is ready. */
export interface Answer {
  id: number;
  error?: string;
  ms?: number;
  mask?: Int32Array;
  grammars?: number;
  matchers?: number;
}
