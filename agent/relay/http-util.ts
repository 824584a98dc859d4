/** Small HTTP helpers of the relay server: the API's error shape and bounded request bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers `{error: {code, message}}` (DESIGN §4), unless the response is already under way. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: { code, message } }));
}

export class BodyTooLarge extends Error {}

/** The whole request body, refused past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new BodyTooLarge(`the request body is larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
