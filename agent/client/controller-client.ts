/**
 * The agent's HTTP client for the controller's agent API (DESIGN §4). Every failure is an
 * `ApiFailure` that says whether a retry can cure it (network errors, 5xx, 408, 429 only).
 */
import type { ActionReport, Facts, Inventory } from '../../core/plan/types.js';
import { parseRetryAfter } from '../../lib/backoff.js';
import { crashPoint } from '../../lib/crash-point.js';
import { isRetryableStatus } from '../../lib/transfer/retry-policy.js';

/** Why a request to the controller failed. */
export class ApiFailure extends Error {
  constructor(
    message: string,
    /** HTTP status; absent for network errors. */
    readonly status: number | undefined,
    /** The API's `error.code`, when it sent one. */
    readonly code: string | undefined,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  /** True when the controller could not be reached or refused the credential (exit 3). */
  get unreachable(): boolean {
    return this.status === undefined || this.status === 401 || this.status === 403 || this.status >= 500;
  }
}

export interface EnrollReply {
  readonly host: string;
  readonly credential: string;
  readonly controllerKey: string;
}

export type PlanReply =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'none'; readonly message: string }
  | { readonly kind: 'plan'; readonly text: string; readonly etag?: string };

export interface ClientOptions {
  /** The controller's base URL (`--server`). */
  readonly server: string;
  /** Per-request limit, ms (default 30 s). */
  readonly timeoutMs?: number;
}

/** Talks to one controller; `credential` is the host's bearer secret once enrolled. */
export class ControllerClient {
  readonly server: string;
  private readonly timeoutMs: number;

  constructor(
    options: ClientOptions,
    private credential?: string,
  ) {
    this.server = options.server.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Uses this credential from now on. */
  authenticate(credential: string): void {
    this.credential = credential;
  }

  async enroll(body: { token: string; host: string; facts: Facts; labels: Readonly<Record<string, string>> }): Promise<EnrollReply> {
    const res = await this.send('POST', '/v1/enroll', body, false);
    return (await res.json()) as EnrollReply;
  }

  async putInventory(inventory: Inventory): Promise<void> {
    const { host, facts, labels, software } = inventory;
    const res = await this.send('PUT', `/v1/hosts/${encodeURIComponent(host)}/inventory`, { facts, labels, software });
    await res.arrayBuffer();
  }

  /** The host's signed plan; `unchanged` when it still has `etag`. */
  async getPlan(host: string, etag?: string): Promise<PlanReply> {
    const res = await this.send(
      'GET',
      `/v1/hosts/${encodeURIComponent(host)}/plan`,
      undefined,
      true,
      {
        ...(etag ? { 'if-none-match': etag } : {}),
      },
      [304, 404],
    );
    if (res.status === 304) return { kind: 'unchanged' };
    if (res.status === 404) {
      const e = await errorOf(res);
      if (e.code === 'no-plan-yet') return { kind: 'none', message: e.message };
      throw new ApiFailure(`GET plan: 404 ${e.message}`, 404, e.code, false);
    }
    const etagHeader = res.headers.get('etag');
    return { kind: 'plan', text: await res.text(), ...(etagHeader ? { etag: etagHeader } : {}) };
  }

  async postReports(host: string, results: readonly ActionReport[]): Promise<void> {
    crashPoint('agent.report.before-post');
    const res = await this.send('POST', `/v1/hosts/${encodeURIComponent(host)}/reports`, { results });
    await res.arrayBuffer();
    crashPoint('agent.report.after-post');
  }

  /** The URL of a content object on this controller. */
  contentUrl(sha256: string): string {
    return `${this.server}/v1/content/${sha256}`;
  }

  private async send(method: string, path: string, body: unknown, auth = true, headers: Record<string, string> = {}, accept: readonly number[] = []): Promise<Response> {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (auth && this.credential) h.authorization = `Bearer ${this.credential}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: h,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new ApiFailure(`cannot reach the controller at ${this.server} (${why})`, undefined, undefined, true);
    }
    if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
    const e = await errorOf(res);
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after') ?? undefined, Date.now());
    throw new ApiFailure(`${method} ${path}: ${res.status}${e.code ? ` ${e.code}` : ''}: ${e.message}`, res.status, e.code, isRetryableStatus(res.status), retryAfterMs);
  }
}

async function errorOf(res: Response): Promise<{ code?: string; message: string }> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message) return { ...(parsed.error.code ? { code: parsed.error.code } : {}), message: parsed.error.message };
  } catch {
    // not JSON
  }
  return { message: text.slice(0, 300) || res.statusText };
}
