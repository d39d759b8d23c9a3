/**
 * Inside the grammar thread (grammar-thread.js): one tokenizer's TokenizerInfo and GrammarCompiler, the schemas
 * compiled for it, and every row's GrammarMatcher, all in this thread's WASM memory (xgrammar's web build cannot
 * move a compiled grammar between threads, so the matchers live beside it). Messages are handled one at a time,
 * in the order sent (grammar-protocol.ts). A grammar the serving side dropped from its cache is disposed once no
 * matcher made from it is left.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CompiledGrammar, GrammarMatcher } from '@mlc-ai/web-xgrammar';
import type { Answer, Request, ThreadData } from './grammar-protocol.ts';
import { loadXgrammar, saying } from './xgrammar.ts';

const { tokens, type, vocabSize, stop } = workerData as ThreadData;
const xg = await loadXgrammar();
const info = await xg.TokenizerInfo.createTokenizerInfo(tokens, type, false, vocabSize, stop);
const compiler = await xg.GrammarCompiler.createGrammarCompiler(info);

const grammars = new Map<number, { compiled: CompiledGrammar; matchers: number; released: boolean }>();
const matchers = new Map<number, { matcher: GrammarMatcher; grammar: number; refused: number | null }>();

function disposeIfUnused(id: number): void {
  const g = grammars.get(id);
  if (!g?.released || g.matchers > 0) return;
  g.compiled.dispose();
  grammars.delete(id);
}

async function handle(req: Request): Promise<Answer | null> {
  switch (req.op) {
    case 'compile': {
      const started = performance.now();
      // Compact separators, one line; strict: no properties or items beyond the schema's (json_object: any).
      const compiled = await saying(() => compiler.compileJSONSchema(req.schema, false, -1, [',', ':'], req.strict));
      grammars.set(req.grammar, { compiled, matchers: 0, released: false });
      return { id: req.id, ms: performance.now() - started };
    }
    case 'release':
      if (grammars.has(req.grammar)) grammars.get(req.grammar)!.released = true;
      disposeIfUnused(req.grammar);
      return null;
    case 'matcher': {
      const g = grammars.get(req.grammar);
      if (!g) throw new Error(`grammar ${req.grammar} is not held by the grammar thread`);
      matchers.set(req.matcher, { matcher: await xg.GrammarMatcher.createGrammarMatcher(g.compiled), grammar: req.grammar, refused: null });
      g.matchers++;
      return { id: req.id };
    }
    case 'mask': {
      const m = matchers.get(req.matcher)!;
      if (m.refused !== null) throw new Error(`the JSON grammar refused token ${m.refused}, which its own mask allowed`);
      // A copy of its own, so the transfer never detaches xgrammar's memory.
      const mask = new Int32Array(await m.matcher.getNextTokenBitmask());
      return { id: req.id, mask };
    }
    case 'accept': {
      const m = matchers.get(req.matcher)!;
      // The token was sampled under this matcher's own mask, so a refusal is a bug, reported at the next mask.
      if (!m.matcher.acceptToken(req.token)) m.refused = req.token;
      return null;
    }
    case 'dispose': {
      const m = matchers.get(req.matcher);
      if (!m) return null;
      m.matcher.dispose();
      matchers.delete(req.matcher);
      grammars.get(m.grammar)!.matchers--;
      disposeIfUnused(m.grammar);
      return null;
    }
    case 'stats':
      return { id: req.id, grammars: grammars.size, matchers: matchers.size };
  }
}

let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (req: Request) => {
  queue = queue.then(async () => {
    try {
      const answer = await handle(req);
      if (answer) parentPort!.postMessage(answer, answer.mask ? [answer.mask.buffer as ArrayBuffer] : []);
    } catch (err) {
      if ('id' in req) parentPort!.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) });
      else console.error('grammar thread:', err);
    }
  });
});
parentPort!.postMessage({ id: 0 });
