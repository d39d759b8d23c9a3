/**
 * The worker thread that holds xgrammar for one tokenizer (grammar-worker.ts): compiling a large JSON schema takes
 * seconds of WASM, which must not stop the serving thread's steps. Plain JavaScript that registers tsx itself, so
 * it starts the same however the backend was started.
 */
import { register } from 'tsx/esm/api';

register();
await import('./grammar-worker.ts');
