/** Recognising "the disk is full" in the errors of the file system, SQLite and PostgreSQL. */

/**
 * True when `err` says storage ran out: Node's `ENOSPC`/`EDQUOT`, SQLite's `SQLITE_FULL`, or
 * PostgreSQL's `disk_full` (SQLSTATE 53100). Such a failure passes when space returns.
 */
export function isStorageFull(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === '53100') return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isStorageFull(cause);
}
