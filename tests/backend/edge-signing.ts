/** Playing the edge for a backend under test: its signing key, and the headers that sign a request for a backend. */
import { edgeSigner } from '../../contracts/api/edge-signature.ts';
import { EdgeKey, type EdgeAuth } from '../../gpu-backend/serve/edge-auth.ts';

/** A fixed Ed25519 seed (base64url), as EDGE_SIGNING_KEY would hold it. */
export const TEST_EDGE_SIGNING_KEY = 'IRRLp1KnSxHk3W8x5LrVQ9f0zTb2Ym6cAi7uPe4oNjg';
export const TEST_BACKEND_ID = 'backend-under-test';

export const testSigner = edgeSigner(TEST_EDGE_SIGNING_KEY);

/** What a backend under test is given: its id, and the edge's public key pinned. */
export async function testEdgeAuth(backendId = TEST_BACKEND_ID): Promise<EdgeAuth> {
  return { backendId, edgeKey: new EdgeKey((await testSigner).publicKey) };
}

/** The headers the edge sends with this request, signed for `backendId` at `nowMs`. */
export async function signed(method: string, path: string, body: string, backendId = TEST_BACKEND_ID, nowMs = Date.now()) {
  return (await testSigner).sign({ backendId, method, path, body }, nowMs);
}

/** The headers the edge sends to a running backend: signed for its id and the boot id its heartbeat announced. */
export async function signedFor(backend: { backendId: string; bootId: string }, method: string, path: string, body: string) {
  return (await testSigner).sign({ backendId: backend.backendId, bootId: backend.bootId, method, path, body });
}

/** POSTs `payload` as JSON to a running backend, signed as the edge signs a forward. */
export async function postSigned(
  backend: { url: string; backendId: string; bootId: string },
  path: string,
  payload: unknown,
): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${backend.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await signedFor(backend, 'POST', path, body)) },
    body,
  });
}
