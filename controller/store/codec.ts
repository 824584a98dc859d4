/**
 * Conversions between records and columns, the same for both dialects: JSON is stored as text,
 * times as `toISOString()` text (which sorts as it compares), booleans as 0/1.
 */
import { createHash } from 'node:crypto';

export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** A Date as stored. */
export function iso(date: Date): string {
  return date.toISOString();
}

/** An RFC 3339 string (any offset) in the stored form; throws on a string that is not a time. */
export function normalizeTime(text: string): string {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new TypeError(`not an RFC 3339 time: ${JSON.stringify(text)}`);
  return new Date(ms).toISOString();
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A count as a driver returns it (PostgreSQL's bigint arrives as a string). */
export function toCount(value: string | number | bigint): number {
  return Number(value);
}

/** Splits `items` into slices of at most `size`, keeping multi-row statements under parameter limits. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `undefined` for SQL NULL, so records carry no null-valued fields. */
export function opt<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}
