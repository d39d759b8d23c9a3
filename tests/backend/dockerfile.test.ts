/**
 * gpu-backend/Dockerfile cannot be built here (no image registry), so what can go wrong without a build is
 * checked against the code: every ENV it sets is a setting configFromEnv reads and accepts, its CMD starts the
 * server entry point the way scripts/backend-process.ts does, it runs as a user that is not root, its
 * HEALTHCHECK asks /healthz on the port it EXPOSEs and sets, the build stage installs onnxruntime-node's CUDA 12
 * provider, the runtime stage has the Vulkan loader and asks the NVIDIA container toolkit for the driver's graphics
 * (Vulkan) part, which WebGPU runs on, and what the server imports lies in the folders the image copies. The settings are found by
 * calling configFromEnv with an environment that records what is read, so no list of them is kept twice;
 * README.md's configuration table is held to the same set.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { configFromEnv } from '../../gpu-backend/server.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dockerfile = DockerfileParser.parse(readFileSync(join(root, 'gpu-backend', 'Dockerfile'), 'utf8'));

/** Variables the NVIDIA container toolkit reads (which devices, which driver parts it mounts), not the backend. */
const CONTAINER_TOOLKIT = ['NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES'];

/** The instructions of each stage, in order (a stage starts at its FROM). */
const stages: Instruction[][] = [];
for (const instruction of dockerfile.getInstructions()) {
  if (instruction.getKeyword() === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const [build, runtime] = [stages[0], stages.at(-1)!];
const all = (stage: Instruction[], keyword: string) => stage.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());

/** ENV's name=value pairs, as Docker reads them. */
function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of dockerfile.getENVs().filter((e) => stage.includes(e)))
    for (const p of i.getProperties()) env[p.getName()] = p.getUnescapedValue() ?? '';
  return env;
}

/** The exec form's strings (CMD, HEALTHCHECK CMD), parsed as the JSON they are. */
function execForm(i: Instruction, from = 0): string[] {
  const text = i.getArgumentsContent() ?? '';
  const json = text.slice(text.indexOf('[', from));
  return JSON.parse(json) as string[];
}

/** Every environment variable configFromEnv reads, found by reading them through a recording proxy. */
function settingsRead(): Set<string> {
  const read = new Set<string>();
  const recording = (values: Record<string, string>) =>
    new Proxy(values, {
      get(target, key) {
        if (typeof key === 'string') read.add(key);
        return Reflect.get(target, key);
      },
    }) as NodeJS.ProcessEnv;
  configFromEnv(recording({ RANKGATE_LOCAL: '1' }));
  configFromEnv(recording({ BACKEND_TOKEN: 'rgb-x', BACKEND_ID: 'gpu-1' }));
  return read;
}

describe('gpu-backend/Dockerfile', () => {
  test('has a build stage and a runtime stage: Node 20 to install, a CUDA 12 runtime image to run', () => {
    expect(stages).toHaveLength(2);
    expect(args(build[0])[0]).toMatch(/^node:20(-|$)/);
    expect(args(runtime[0])[0]).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d/);
    const fromBuild = dockerfile
      .getCOPYs()
      .filter((c) => runtime.includes(c) && c.getFromFlag()?.getValue() === 'build')
      .map((c) => args(c)[0]);
    expect(fromBuild).toEqual(['/usr/local/bin/node', '/app/node_modules']);
  });

  test('installs production dependencies with the CUDA 12 provider of onnxruntime-node in the build stage', () => {
    expect(envOf(build)).toMatchObject({ ONNXRUNTIME_NODE_INSTALL: 'cuda12' });
    const install = all(build, 'RUN').map((i) => i.getArgumentsContent() ?? '');
    expect(install.some((r) => /\bnpm ci --omit=dev\b/.test(r))).toBe(true);
  });

  test("sets only settings the backend reads, with values configFromEnv accepts, and the container toolkit's", () => {
    const env = envOf(runtime);
    const settings = settingsRead();
    expect(Object.keys(env).filter((name) => !settings.has(name) && !CONTAINER_TOOLKIT.includes(name))).toEqual([]);
    const config = configFromEnv({ ...env, BACKEND_TOKEN: 'rgb-x', BACKEND_ID: 'gpu-1' });
    expect(config).toMatchObject({ host: '0.0.0.0', executionProvider: 'auto', cacheDir: env.CACHE_DIR });
  });

  test('WebGPU on an NVIDIA host: the Vulkan loader is installed and the toolkit mounts the Vulkan ICD (graphics)', () => {
    const env = envOf(runtime);
    expect(env.NVIDIA_DRIVER_CAPABILITIES.split(',')).toEqual(expect.arrayContaining(['compute', 'utility', 'graphics']));
    expect(env.NVIDIA_VISIBLE_DEVICES).toBe('all');
    const installs = all(runtime, 'RUN').map((i) => i.getArgumentsContent() ?? '');
    expect(installs.some((r) => /\bapt-get install\b[^&]*\blibvulkan1\b/.test(r))).toBe(true);
  });

  test('runs the server entry point with tsx, as scripts/backend-process.ts does', () => {
    const cmd = all(runtime, 'CMD');
    expect(cmd).toHaveLength(1);
    expect(execForm(cmd[0])).toEqual(['node', '--import', 'tsx', 'gpu-backend/server.ts']);
    // The local launcher may start another checkout's backend (a benchmark comparing commits); the entry point is the same.
    expect(readFileSync(join(root, 'scripts', 'backend-process.ts'), 'utf8')).toMatch(
      /\['--import', 'tsx', join\(\w+, 'gpu-backend', 'server\.ts'\)\]/,
    );
    expect(all(runtime, 'WORKDIR').map(args).at(-1)).toEqual(['/app']);
  });

  test('runs as a user that is not root', () => {
    const user = all(runtime, 'USER')
      .map((i) => args(i)[0])
      .at(-1);
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  test('checks its health on /healthz at the port it exposes and listens on', () => {
    const env = envOf(runtime);
    const exposed = all(runtime, 'EXPOSE').flatMap(args);
    expect(exposed).toEqual([env.PORT]);
    expect(configFromEnv({ ...env, RANKGATE_LOCAL: '1' }).port).toBe(Number(env.PORT));
    const checks = dockerfile.getHEALTHCHECKs();
    expect(checks).toHaveLength(1);
    const probe = execForm(checks[0], (checks[0].getArgumentsContent() ?? '').indexOf('CMD')).join(' ');
    expect(probe).toContain(`http://127.0.0.1:${env.PORT}/healthz`);
  });

  test('copies every file the server imports (its import closure lies in the folders the image copies)', () => {
    const copied = dockerfile
      .getCOPYs()
      .filter((c) => runtime.includes(c) && c.getFromFlag() === null)
      .flatMap((c) => args(c).slice(0, -1));
    const closure = new Set<string>();
    const pending = [join(root, 'gpu-backend', 'server.ts')];
    while (pending.length) {
      const file = pending.pop()!;
      if (closure.has(file)) continue;
      closure.add(file);
      for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles)
        if (fileName.startsWith('.') && existsSync(resolve(dirname(file), fileName))) pending.push(resolve(dirname(file), fileName));
    }
    const outside = [...closure]
      .map((f) => relative(root, f))
      .filter((f) => !copied.some((c) => f.startsWith(`${c.replace(/\/?$/, '/')}`)));
    expect(closure.size).toBeGreaterThan(10);
    expect(outside).toEqual([]);
  });

  test('.dockerignore keeps the context to what the image copies (no node_modules, no local state)', () => {
    const lines = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    expect(lines.filter((l) => l.startsWith('!'))).toEqual(
      expect.arrayContaining(['!package.json', '!package-lock.json', '!contracts/', '!gpu-backend/']),
    );
    expect(lines.some((l) => l.includes('node_modules') && l.startsWith('!'))).toBe(false);
  });
});

describe("README.md's backend configuration table", () => {
  test('lists exactly the settings configFromEnv reads', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Backend configuration'));
    const table = section.slice(0, section.search(/\n#{2,3} /) >= 0 ? section.search(/\n#{2,3} /) : undefined);
    const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.sort()).toEqual([...settingsRead()].sort());
  });
});
