/**
 * Loads @mlc-ai/web-xgrammar (a WASM build of xgrammar, the grammar engine vLLM and SGLang use) in Node.
 * Its package says `"type": "module"` but lib/index.js is a UMD bundle that calls `require`, so an ESM import
 * throws. We copy that file once, under a `.cjs` name, into a cache folder keyed by the package version and
 * require it from there: the bundle runs unmodified as CommonJS, and nothing global (require.extensions) changes.
 *
 * Its WASM build reports an unsupported schema construct by printing "[FATAL] file.cc:line: message" through
 * console.error (bound once, when the module first starts) and then throwing a bare "Aborted()". To say what it
 * said, the module starts with console.error briefly replaced by a router that hands those lines to `saying`.
 */
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type Xgrammar = typeof import('@mlc-ai/web-xgrammar');

const require = createRequire(import.meta.url);

let loaded: Promise<Xgrammar> | null = null;

export function loadXgrammar(): Promise<Xgrammar> {
  loaded ??= (async () => {
    const pkgJson = require.resolve('@mlc-ai/web-xgrammar/package.json');
    const { version } = require(pkgJson) as { version: string };
    const target = join(tmpdir(), 'rankgate-xgrammar', `web-xgrammar-${version}.cjs`);
    if (!existsSync(target)) {
      await mkdir(dirname(target), { recursive: true });
      // Written under a unique name and renamed, so two processes starting together never read half a file.
      const partial = `${target}.${process.pid}.partial`;
      await copyFile(join(dirname(pkgJson), 'lib', 'index.js'), partial);
      await rename(partial, target);
    }
    const xg = require(target) as Xgrammar;
    const original = console.error;
    console.error = (...args: unknown[]) => (listener ? listener(args.map(String).join(' ')) : original.apply(console, args));
    try {
      // The first call starts the WASM module, which binds its error printer to console.error now.
      (await xg.TokenizerInfo.createTokenizerInfo(['a'], 'raw')).dispose();
    } finally {
      console.error = original;
    }
    return xg;
  })();
  return loaded;
}

/** Where xgrammar's error printer writes while `saying` runs; null: to the console. */
let listener: ((line: string) => void) | null = null;
let running: Promise<unknown> = Promise.resolve();

/** Runs an xgrammar call (one at a time); when it fails, it fails with the messages xgrammar printed. */
export function saying<T>(fn: () => Promise<T>): Promise<T> {
  const run = running.then(async () => {
    const said: string[] = [];
    listener = (line) => {
      const fatal = /\[FATAL\][^:]*:\d+: (.*)/s.exec(line);
      if (fatal) said.push(fatal[1].trim());
    };
    try {
      return await fn();
    } catch (err) {
      throw said.length > 0 ? new Error(said.join('; ')) : err;
    } finally {
      listener = null;
    }
  });
  running = run.catch(() => {});
  return run;
}
