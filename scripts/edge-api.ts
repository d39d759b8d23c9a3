/** A small client of the edge's public API with one tenant's key (the local stack's bootstrap, end-to-end tests). */

/** What the operator does for each backend: issues its credential (BACKEND_TOKEN), bound to `backendId`. */
export async function issueBackendCredential(url: string, adminToken: string, backendId: string): Promise<{ id: string; token: string }> {
  const res = await fetch(`${url}/admin/v1/backend-credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ backend_id: backendId }),
  });
  if (res.status !== 201) throw new Error(`issuing a credential for backend ${backendId}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; token: string };
}

/** Revokes a backend's other credentials (a restarted local stack issues a new one each time). */
export async function revokeOtherCredentials(url: string, adminToken: string, backendId: string, keep: string): Promise<void> {
  const headers = { authorization: `Bearer ${adminToken}` };
  const list = (await (await fetch(`${url}/admin/v1/backend-credentials`, { headers })).json()) as {
    data: { id: string; backend_id: string; revoked_at: number | null }[];
  };
  for (const c of list.data) {
    if (c.backend_id !== backendId || c.id === keep || c.revoked_at !== null) continue;
    const res = await fetch(`${url}/admin/v1/backend-credentials/${c.id}`, { method: 'DELETE', headers });
    if (!res.ok) throw new Error(`revoking credential ${c.id}: ${res.status} ${await res.text()}`);
  }
}

export class EdgeApi {
  constructor(
    readonly url: string,
    readonly key: string,
  ) {}

  static async newTenant(url: string, adminToken: string, name: string): Promise<EdgeApi> {
    const res = await fetch(`${url}/admin/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    if (res.status !== 201) throw new Error(`creating a tenant: ${res.status} ${await res.text()}`);
    return new EdgeApi(url, ((await res.json()) as { api_key: { key: string } }).api_key.key);
  }

  fetch(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, ...init.headers };
    let body: RequestInit['body'];
    if (init.body instanceof FormData || init.body instanceof Uint8Array || typeof init.body === 'string')
      body = init.body as RequestInit['body'];
    else if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    return fetch(`${this.url}${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  }

  /** Calls and checks the status; returns the parsed JSON. */
  async json(path: string, init: Parameters<EdgeApi['fetch']>[1] = {}, status = 200): Promise<any> {
    const res = await this.fetch(path, init);
    const text = await res.text();
    if (res.status !== status)
      throw new Error(
        `${init.method ?? (init.body === undefined ? 'GET' : 'POST')} ${path}: expected ${status}, got ${res.status}: ${text}`,
      );
    return JSON.parse(text);
  }
}
