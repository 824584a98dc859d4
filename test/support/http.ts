import { type Agent, request } from 'node:http';

/** A JSON call to a controller API: `body` (when given) sent as JSON; the answer's status and its parsed body (undefined when empty). */
export async function callJson(base: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** What `sendJson` answers: the status and the body as text. */
export interface Reply {
  readonly status: number;
  readonly body: string;
}

/**
 * A JSON request over node:http to 127.0.0.1:PORT through `agent`, from `localAddress` when given (many clients
 * on one machine: the fleet bench and the onboarding test).
 */
export function sendJson(agent: Agent, port: number, method: string, path: string, token: string, body?: unknown, localAddress?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        ...(localAddress ? { localAddress } : {}),
        headers: {
          authorization: `Bearer ${token}`,
          ...(text !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}),
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}
