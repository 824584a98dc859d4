/** Small HTTP helpers of the API: conditional requests and durations. */

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

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `10m`, `6h`, `1d` → milliseconds; undefined when not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  return m ? Number(m[1]) * units[m[2]!]! : undefined;
}
