/** A parsed `Content-Range: bytes START-END/TOTAL` header (END inclusive; TOTAL absent when `*`). */
export interface ContentRange {
  readonly start: number;
  readonly end: number;
  readonly total?: number;
}

/** Parses a 206 response's Content-Range; undefined when it is missing or malformed. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const m = value ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim()) : null;
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) return undefined;
  return m[3] === '*' ? { start, end } : { start, end, total: Number(m[3]) };
}
