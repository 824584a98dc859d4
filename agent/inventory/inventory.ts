/** The inventory document (`PUT /v1/hosts/{host}/inventory`): facts with overrides, labels, software. */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Inventory, SoftwareItem } from '../../core/plan/types.js';
import type { Journal } from '../journal/journal.js';
import { collectFacts } from './facts.js';
import type { OsPackageCache } from './os-packages.js';
import { applyFactOverrides, type FactOverride } from './overrides.js';

export interface InventoryOptions {
  readonly host: string;
  readonly dataDir: string;
  readonly installRoot: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly overrides: readonly FactOverride[];
  /** Absent: OS packages are not reported (simulated hosts sharing one machine). */
  readonly osPackages?: OsPackageCache;
  readonly journal: Journal;
  readonly pollIntervalMs?: number;
}

/** The host's inventory now: what Ferry installed (journal) first, then the OS packages. */
export async function buildInventory(o: InventoryOptions): Promise<Inventory> {
  const [facts, os] = await Promise.all([
    collectFacts({ hostname: o.host, dataDir: o.dataDir, installRoot: o.installRoot, ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}) }),
    o.osPackages ? o.osPackages.get() : Promise.resolve([] as SoftwareItem[]),
  ]);
  return {
    host: o.host,
    facts: applyFactOverrides(facts, o.overrides),
    labels: { ...o.labels },
    software: [...o.journal.software(), ...os],
  };
}

/** sha256 of the inventory's JCS form: the agent sends an inventory only when this changes. */
export function inventoryHash(inventory: Inventory): string {
  return createHash('sha256')
    .update(canonicalize(inventory) ?? '', 'utf8')
    .digest('hex');
}
