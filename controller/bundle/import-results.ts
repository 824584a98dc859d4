/**
 * Importing a results file (DESIGN §3, §5): genuine and unaltered only when its MAC holds under
 * the results key the controller derives again for its bundle id and host; then its reports go
 * through the store's idempotent ingestion (by report id), so importing twice changes nothing.
 * Each report is marked with its source: `from a bundle, applied at …`.
 */
import { resultsFormat, resultsMacHolds, type ResultsFile } from '../../core/bundle/format.js';
import type { ActionReport } from '../../core/plan/types.js';
import type { IngestResult, Store } from '../store/store.js';
import { deriveResultsKey } from './results-key.js';

export type ImportOutcome =
  | { readonly ok: true; readonly host: string; readonly bundleId: string; readonly appliedAt: string; readonly result: IngestResult }
  | { readonly ok: false; readonly reason: string };

/** The reason a results file is not genuine, or undefined when it is. */
export function checkResults(file: ResultsFile, privateKeyPem: string): string | undefined {
  if (file.format !== resultsFormat) return `not a Ferry results file (format ${String(file.format)})`;
  const key = deriveResultsKey(privateKeyPem, file.bundleId, file.host);
  if (!resultsMacHolds(file, key)) {
    return `the results file of ${file.host} is altered, or was not made from a bundle of this controller (its signature does not hold)`;
  }
  return undefined;
}

/** The source note every imported report carries (status shows it). */
export function bundleSource(file: ResultsFile): string {
  return `from a bundle, applied at ${file.appliedAt}`;
}

/** Verifies and ingests; idempotent. */
export async function importResults(store: Pick<Store, 'ingestReports'>, file: ResultsFile, privateKeyPem: string, now: Date): Promise<ImportOutcome> {
  const problem = checkResults(file, privateKeyPem);
  if (problem) return { ok: false, reason: problem };
  const source = bundleSource(file);
  const reports: ActionReport[] = file.reports.map((r) => ({ ...r, source }));
  const result = await store.ingestReports(file.host, reports, now);
  return { ok: true, host: file.host, bundleId: file.bundleId, appliedAt: file.appliedAt, result };
}
