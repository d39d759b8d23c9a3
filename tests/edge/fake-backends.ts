/**
 * Stand-in backends for the routing, proxy and cancel tests: tiny Node HTTP servers on loopback that answer
 * OpenAI-style completions (JSON or SSE) naming themselves, and embeddings, and log what the edge sent them. The last one
 * drops every connection, to play a backend that dies before the first byte; any plays one with a full queue (429)
 * when the request's `user` names it. GET /internal/v1/residency answers a residency naming the stand-in.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { edgePublicKey, edgeSigner, SIGNATURE_HEADERS, verifyForwarded } from '../../contracts/api/edge-signature.ts';
import { TEST_EDGE_SIGNING_KEY } from './secrets.ts';

export interface LoggedRequest {
  path: string;
  body: any;
  /** The backend_id the edge signed the request for. */
  signedFor: string;
}

const publicKey = edgeSigner(TEST_EDGE_SIGNING_KEY).then(async (s) => (await edgePublicKey(s.publicKey))!);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function completion(name: string, body: any, chat: boolean) {
  const text = `served by ${name}`;
  return {
    id: `cmpl-${name}`,
    object: chat ? 'chat.completion' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      chat ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' } : { index: 0, text, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
  };
}

function startOne(name: string, dropConnections: boolean): Promise<Server> {
  const log: LoggedRequest[] = [];
  const server = createServer(async (req, res) => {
    if (dropConnections) {
      // Take the whole request, then hang up without a byte of answer.
      await readBody(req);
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/_log') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(log));
      return;
    }
    // Stand-ins take any backend id (tests register them under many), but only with the edge's signature for it.
    const raw = await readBody(req);
    const header = (name: string) => req.headers[name] as string | undefined;
    const signedFor = header(SIGNATURE_HEADERS.backend) ?? '';
    const refused = await verifyForwarded(
      await publicKey,
      { backendId: signedFor, method: req.method ?? '', path: req.url ?? '', body: raw },
      header,
    );
    if (refused) {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: { message: refused } }));
      return;
    }
    const body = raw ? JSON.parse(raw) : null;
    log.push({ path: url.pathname, body, signedFor });
    if (req.method === 'GET' && url.pathname === '/internal/v1/residency') {
      // What a backend has loaded, naming the stand-in, so a test can tell whose answer it got.
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          models: [{ id: `model-of-${name}`, bytes: 1024, last_used_at: 1, loading: false }],
          adapters: [{ id: `adapter-of-${name}`, bytes: 64, last_used_at: null, pinned: true }],
        }),
      );
      return;
    }
    const chat = url.pathname === '/v1/chat/completions';
    // A test names the stand-ins that play a backend with a full queue in the request's `user` field.
    if (typeof body?.user === 'string' && body.user.split(',').includes(name)) {
      res.statusCode = 429;
      res.setHeader('retry-after', '1');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { message: 'queue full', type: 'rate_limit_error', code: 'queue_full', param: null } }));
      return;
    }
    if (chat || url.pathname === '/v1/completions') {
      if (body.stream) {
        res.setHeader('content-type', 'text/event-stream');
        for (const piece of ['served ', 'by ', name]) {
          const delta = chat
            ? { index: 0, delta: { content: piece }, finish_reason: null }
            : { index: 0, text: piece, finish_reason: null };
          res.write(
            `data: ${JSON.stringify({ id: `cmpl-${name}`, object: chat ? 'chat.completion.chunk' : 'text_completion', created: 0, model: body.model, choices: [delta] })}\n\n`,
          );
        }
        res.end('data: [DONE]\n\n');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(completion(name, body, chat)));
      return;
    }
    if (url.pathname === '/v1/embeddings') {
      const inputs = typeof body.input === 'string' || typeof body.input[0] === 'number' ? [body.input] : body.input;
      const data = inputs.map((_: unknown, index: number) => ({ object: 'embedding', index, embedding: [1, 0] }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function startFakeBackends(count: number) {
  const servers = await Promise.all(Array.from({ length: count }, (_, i) => startOne(`fake-${i}`, i === count - 1)));
  return {
    /** The last URL is the backend that drops connections. */
    urls: servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`),
    stop: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.closeAllConnections();
              s.close(() => r());
            }),
        ),
      ),
  };
}
