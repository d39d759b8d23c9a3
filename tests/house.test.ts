/**
 * Who may import whom: edge/ and gpu-backend/ each depend on contracts/ and never on each other; contracts/
 * depends on neither (nor on schema/) and uses no Node-only or Workers-only module, so both sides can run it.
 * Imports are read with TypeScript's own pre-processor, so every static import, re-export and import() counts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PARTS = ['edge', 'gpu-backend', 'contracts', 'schema'] as const;
type Part = (typeof PARTS)[number];

/** A module only one runtime has: Node's built-ins, bare ('fs') or prefixed ('node:fs'), and Workers' cloudflare: modules. */
const runtimeOnly = (specifier: string) => isBuiltin(specifier) || specifier.startsWith('cloudflare:');

/** What each part must not import: other parts (by folder) and runtime-specific modules. */
const FORBIDDEN: Record<Part, { parts: Part[]; modules: ((specifier: string) => boolean) | null }> = {
  edge: { parts: ['gpu-backend'], modules: null },
  'gpu-backend': { parts: ['edge', 'schema'], modules: null },
  contracts: { parts: ['edge', 'gpu-backend', 'schema'], modules: runtimeOnly },
  schema: { parts: ['edge', 'gpu-backend'], modules: null },
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

interface Import {
  file: string;
  specifier: string;
}

function importsOf(part: Part): Import[] {
  return tsFiles(join(root, part)).flatMap((file) => {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    return info.importedFiles.map((f) => ({ file: relative(root, file), specifier: f.fileName }));
  });
}

/** The top-level folder a relative import lands in; null for a package. */
function partOf(imp: Import): string | null {
  if (!imp.specifier.startsWith('.')) return null;
  return relative(root, resolve(root, dirname(imp.file), imp.specifier)).split(/[\\/]/)[0];
}

function violations(part: Part): string[] {
  const rule = FORBIDDEN[part];
  return importsOf(part)
    .filter((imp) => rule.parts.includes(partOf(imp) as Part) || rule.modules?.(imp.specifier))
    .map((imp) => `${imp.file} imports ${imp.specifier}`);
}

describe('the house: imports run one way', () => {
  test('the pre-processor sees every kind of import (the check would be blind otherwise)', () => {
    const source =
      "import a from './a.ts';\nimport type { B } from '../b.ts';\nexport * from 'node:fs';\nconst c = await import('../../edge/c.ts');";
    expect(ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName)).toEqual([
      './a.ts',
      '../b.ts',
      'node:fs',
      '../../edge/c.ts',
    ]);
  });

  test('a runtime-only module is recognised bare or prefixed, and a package is not', () => {
    expect(['fs', 'node:path', 'crypto', 'cloudflare:workers'].filter(runtimeOnly)).toHaveLength(4);
    expect(['zod', './fs.ts', 'hono'].filter(runtimeOnly)).toEqual([]);
  });

  for (const part of PARTS) {
    test(`${part}/ imports nothing it must not (${FORBIDDEN[part].parts.join(', ')}${FORBIDDEN[part].modules ? ', Node built-ins or cloudflare: modules' : ''})`, () => {
      expect(importsOf(part).length).toBeGreaterThan(0);
      expect(violations(part)).toEqual([]);
    });
  }
});

describe('the house: the engine and the server know no merge method', () => {
  // What they may take from lowrank/: the serving forms (plain tensors), a stored merge as served, the weight
  // quantizer the engine runs at load (and its onnxruntime form), and the cat merge a request's adapter mix is served as (issue 20). A
  // stored merge's parts and constructions stay with its method.
  const ALLOWED = [
    'gpu-backend/lowrank/serving-form.ts',
    'gpu-backend/lowrank/methods/served-merge.ts',
    'gpu-backend/lowrank/quantize-matrix.ts',
    'gpu-backend/lowrank/quantize-runner.ts',
    'gpu-backend/lowrank/merge-collapsed.ts',
  ];
  for (const room of ['engine', 'serve']) {
    test(`gpu-backend/${room}/ imports from lowrank/ only ${ALLOWED.map((p) => p.split('/').pop()).join(', ')}`, () => {
      const fromLowrank = importsOf('gpu-backend')
        .filter((imp) => imp.file.startsWith(`gpu-backend/${room}/`) && imp.specifier.startsWith('.'))
        .map((imp) => ({ file: imp.file, target: relative(root, resolve(root, dirname(imp.file), imp.specifier)) }))
        .filter((imp) => imp.target.startsWith('gpu-backend/lowrank/'));
      expect(fromLowrank.length).toBeGreaterThan(0);
      expect(fromLowrank.filter((imp) => !ALLOWED.includes(imp.target)).map((imp) => `${imp.file} imports ${imp.target}`)).toEqual([]);
    });
  }
});
