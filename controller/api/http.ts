/** Small HTTP helpers of the API: conditional requests (RFC 9110 §13). */

/**
 * True when an `If-None-Match` header matches `etag` (weak comparison, RFC 9110 §13.1.2):
 * `*`, or any listed tag equal to it with `W/` ignored.
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const want = etag.startsWith('W/') ? etag.slice(2) : etag;
  if (header === want) return true;
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    if (tag === '*') return true;
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === want) return true;
  }
  return false;
}

/**
 * True when an `If-Match` header lets the request go on (strong comparison, RFC 9110 §13.1.1):
 * absent, `*`, or a listed tag equal to `etag`; a weak tag never matches.
 */
export function ifMatchPasses(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return tag === '*' || tag === etag;
  });
}

/** `Last-Modified`'s value: an HTTP date, to the second. */
export function httpDate(at: Date): string {
  return at.toUTCString();
}

/** True when the HTTP date `header` is at or after `at` (to the second); false when it is absent or not a date. */
export function notModifiedSince(header: string | undefined, at: Date): boolean {
  if (header === undefined) return false;
  const since = Date.parse(header);
  return Number.isFinite(since) && Math.floor(at.getTime() / 1000) * 1000 <= since;
}

/**
 * True when a `Range` may be honoured under `If-Range` (RFC 9110 §13.1.5): absent, the
 * entity tag itself (strong), or exactly the `Last-Modified` date.
 */
export function ifRangeMatches(header: string | undefined, etag: string, lastModified: Date): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  const date = Date.parse(value);
  return Number.isFinite(date) && date === Math.floor(lastModified.getTime() / 1000) * 1000;
}
