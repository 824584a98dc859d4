/**
 * Who may read the relay's content: a host presents its own bearer credential, and the relay asks
 * upstream whether it is good with a `HEAD /v1/content/{sha256}` carrying it (which also gives the
 * artifact's size). A good answer is remembered, by the credential's sha256, for `freshMs`; while
 * upstream cannot be reached, a good answer up to `staleMs` old still counts, so a site keeps
 * installing what the relay holds during a controller outage. Bad answers are not remembered.
 */
import { createHash } from 'node:crypto';

export type HeadAnswer =
  /** Upstream has it, for this credential; `size` from its Content-Length. */
  | { readonly kind: 'ok'; readonly size: number }
  /** Upstream said no (401, 403, 404, 416…): pass its answer on. */
  | { readonly kind: 'refused'; readonly status: number; readonly body: string; readonly headers: Readonly<Record<string, string>> }
  /** Upstream could not be reached or failed (network error, 5xx). */
  | { readonly kind: 'unreachable'; readonly message: string };

export type CheckAnswer = { readonly kind: 'ok'; readonly size?: number } | Exclude<HeadAnswer, { kind: 'ok' }>;

export interface CredentialCheckOptions {
  readonly upstream: string;
  readonly freshMs?: number;
  readonly staleMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** Whether upstream accepted this credential for a host before (remembered on disk): enough while upstream is down. */
  readonly knownOffline?: (authorization: string) => boolean;
}

const passOn = ['content-type', 'www-authenticate', 'retry-after'];

/** Asks upstream for the head of one content object with one credential. */
export async function headUpstream(upstream: string, sha256: string, authorization: string | undefined, timeoutMs = 15_000): Promise<HeadAnswer> {
  let res: Response;
  try {
    res = await fetch(`${upstream.replace(/\/+$/, '')}/v1/content/${sha256}`, {
      method: 'HEAD',
      headers: authorization ? { authorization } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    return { kind: 'unreachable', message: `upstream ${upstream} cannot be reached (${cause?.code ?? (e as Error).message})` };
  }
  if (res.status === 200) {
    const size = Number(res.headers.get('content-length'));
    if (!Number.isSafeInteger(size) || size < 0) return { kind: 'unreachable', message: `upstream sent no usable Content-Length for ${sha256}` };
    return { kind: 'ok', size };
  }
  if (res.status >= 500 || res.status === 408 || res.status === 429) return { kind: 'unreachable', message: `upstream answered ${res.status}` };
  const headers: Record<string, string> = {};
  for (const h of passOn) {
    const v = res.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  // A HEAD answer has no body: say what upstream said in our own words.
  const body = JSON.stringify({
    error: {
      code: res.status === 404 ? 'not-found' : res.status === 401 ? 'unauthenticated' : 'upstream-refused',
      message:
        res.status === 404
          ? `no content ${sha256} upstream`
          : res.status === 401
            ? 'upstream does not know this credential; send `Authorization: Bearer <host credential>`'
            : `upstream refused with ${res.status}`,
    },
  });
  return { kind: 'refused', status: res.status, body, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' } };
}

export class CredentialCheck {
  private readonly good = new Map<string, number>();
  private readonly freshMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;

  constructor(private readonly o: CredentialCheckOptions) {
    this.freshMs = o.freshMs ?? 60_000;
    this.staleMs = o.staleMs ?? 86_400_000;
    this.now = o.now ?? Date.now;
  }

  /**
   * Whether `authorization` may read content; asks upstream (HEAD of `sha256`) unless a fresh
   * good answer is known. With `needSize`, always asks (the caller needs the artifact's size).
   */
  async check(authorization: string | undefined, sha256: string, needSize = false): Promise<CheckAnswer> {
    if (!authorization) {
      return {
        kind: 'refused',
        status: 401,
        body: JSON.stringify({ error: { code: 'unauthenticated', message: 'send `Authorization: Bearer <host credential>`' } }),
        headers: { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer realm="ferry"' },
      };
    }
    const key = createHash('sha256').update(authorization).digest('hex');
    const at = this.good.get(key);
    const age = at === undefined ? Number.POSITIVE_INFINITY : this.now() - at;
    if (!needSize && age < this.freshMs) return { kind: 'ok' };
    const answer = await headUpstream(this.o.upstream, sha256, authorization, this.o.timeoutMs);
    if (answer.kind === 'ok') {
      this.good.set(key, this.now());
      return answer;
    }
    if (answer.kind === 'refused' && (answer.status === 401 || answer.status === 403)) this.good.delete(key);
    if (answer.kind === 'refused' && answer.status === 404) this.good.set(key, this.now());
    if (answer.kind === 'unreachable' && !needSize && (age < this.staleMs || this.o.knownOffline?.(authorization))) return { kind: 'ok' };
    return answer;
  }

  /** Remembers a credential upstream accepted elsewhere (a plan or report forwarded for it). */
  accepted(authorization: string): void {
    this.good.set(createHash('sha256').update(authorization).digest('hex'), this.now());
  }
}
