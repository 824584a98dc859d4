/** Small HTTP helpers of the API: conditional requests. */

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
