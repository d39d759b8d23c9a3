/**
 * The backend (gpu-backend/server.ts) as a child process in its own process group, for `npm start` and the
 * end-to-end tests. Resolves once it listens, which is after its first heartbeat reached the edge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { root, stopGroup } from './edge-stack.ts';

export interface BackendProcess {
  url: string;
  /** The boot id it announces (new at each start): what the edge signs for. */
  bootId: string;
  child: ChildProcess;
  /** Its recent output (with output: 'buffer'). */
  logs(): string;
  /** Resolves when it exits on its own (not after stop()). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const LISTENING = /listening on (http:\/\/\S+) \(boot ([\w-]+)/;

/** `from`: the checkout whose backend runs (default this one; a benchmark may compare another commit's). */
export function startBackendProcess(env: Record<string, string>, output: 'inherit' | 'buffer', from = root): Promise<BackendProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(from, 'gpu-backend', 'server.ts')], {
    cwd: from,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  let stopping = false;
  let listening = false;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => !stopping && r(code)));
  const stop = async () => {
    stopping = true;
    await stopGroup(child);
  };
  return new Promise((resolve, reject) => {
    const onData = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      text = (text + chunk.toString('utf8')).slice(-50_000);
      if (output === 'inherit') stream.write(chunk);
      const m = listening ? null : LISTENING.exec(text);
      if (m) listening = true;
      if (m) resolve({ url: m[1], bootId: m[2], child, logs: () => text, exited, stop });
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the backend exited with ${code} before listening\n${text}`)));
  });
}
