/**
 * What a client sees when a backend fails under it, over real processes (s3rver, `wrangler dev`, backend servers):
 * a backend killed in the middle of a stream leaves the client an error chunk, not a stream that looks finished.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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
