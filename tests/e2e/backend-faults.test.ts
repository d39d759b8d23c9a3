/**
 * What a client sees when a backend fails under it, over real processes (s3rver, the edge in Miniflare, backend servers):
 * a backend killed in the middle of a stream leaves the client an error chunk, not a stream that looks finished; and a
 * signed forward captured on the wire is not served again by the same backend after a restart.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../scripts/edge-stack.ts';
import { fixtureTenant, startStack, type EdgeApi, type Stack, withStackLogs } from './stack.ts';

let stack: Stack;
let api: EdgeApi;

beforeAll(async () => {
  stack = await startStack({ leaseTtlS: 10 });
  api = await fixtureTenant(stack, 'faults');
});

afterAll(async () => {
  await stack?.stop();
});

/** The `data:` payloads of an SSE body, read until it ends; `onEvent` sees each as it arrives. */
async function readEvents(res: Response, onEvent: (data: string, count: number) => void): Promise<string[]> {
  const events: string[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ')) continue;
      events.push(event.slice('data: '.length));
      onEvent(events.at(-1)!, events.length);
    }
  }
}

describe('a backend that dies in the middle of a stream', () => {
  test('leaves the client an error chunk after the chunks it sent, and no [DONE]', () =>
    withStackLogs(stack, async () => {
      const res = await api.fetch('/v1/completions', {
        // Four choices of up to 120 tokens each: hundreds of chunks, so the kill lands long before the end.
        body: { model: 'tiny-llama', prompt: 'ab', max_tokens: 120, n: 4, temperature: 1, seed: 3, stream: true },
      });
      expect(res.status).toBe(200);
      const events = await readEvents(res, (_, count) => {
        if (count === 3) process.kill(-stack.backend.child.pid!, 'SIGKILL');
      });
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events).not.toContain('[DONE]');
      const last = JSON.parse(events.at(-1)!);
      expect(last.error).toMatchObject({ code: 'backend_failed', type: 'backend_error' });
      expect(last.error.message).toContain('Retry');
      expect(events.slice(0, 3).every((e) => JSON.parse(e).choices)).toBe(true);
    }));
});

interface Captured {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Headers of one connection, not of the request: fetch sets its own. */
const HOP_BY_HOP = ['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'];

/** A man in the middle: passes what the edge sends on to `target()`, and keeps a copy of each request. */
function recordingProxy(target: () => string): Promise<{ server: Server; url: string; captured: Captured[] }> {
  const captured: Captured[] = [];
  const server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && !HOP_BY_HOP.includes(e[0])),
    );
    captured.push({ path: req.url ?? '/', headers, body });
    try {
      const answer = await fetch(`${target()}${req.url}`, { method: req.method, headers, body: body.length ? body : undefined });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    } catch (err) {
      console.error('recording proxy:', err);
      res.destroy();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, captured })),
  );
}

const replay = async (to: string, c: Captured) => {
  const res = await fetch(`${to}${c.path}`, { method: 'POST', headers: c.headers, body: c.body });
  return { status: res.status, body: (await res.json()) as any };
};

describe('a signed forward captured on the wire', () => {
  test('is refused when replayed to the same backend after a restart, which still serves what the edge sends next', () =>
    withStackLogs(stack, async () => {
      // Only the backend behind the proxy serves (the first one is stopped, or was killed above).
      await stack.backend.stop();
      let target = '';
      const proxy = await recordingProxy(() => target);
      try {
        // The backend announces the proxy as its URL, and listens where the proxy forwards (the same port after its restart).
        const port = await freePort();
        target = `http://127.0.0.1:${port}`;
        const env = { BACKEND_URL: proxy.url, PORT: String(port) };
        const first = await stack.startBackend('faults-replayed', env);
        const ask = () => api.json('/v1/completions', { body: { model: 'tiny-llama', prompt: 'ab', max_tokens: 4, temperature: 0 } });
        expect((await ask()).object).toBe('text_completion');
        const forward = proxy.captured.find((c) => c.path === '/v1/completions')!;
        expect(forward.headers['x-rankgate-signature']).toBeDefined();
        // The same boot takes each signature once.
        expect(await replay(target, forward)).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });

        await first.stop();
        await stack.startBackend('faults-replayed', env);
        // Within the signature's 30 s window, to a backend that has forgotten the signatures it took.
        const replayed = await replay(target, forward);
        expect(replayed).toMatchObject({ status: 503, body: { error: { code: 'backend_restarted' } } });
        expect((await ask()).object).toBe('text_completion');
        expect(proxy.captured.filter((c) => c.path === '/v1/completions').length).toBe(2);
      } finally {
        await new Promise((r) => proxy.server.close(r));
      }
    }));
});
