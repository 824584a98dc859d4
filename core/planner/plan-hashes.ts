/** FleetPlan.hashes: a read-only map that hashes each plan on first read. */
import type { HostPlan } from '../plan/types.js';
import { hashPlan } from './canonical-json.js';

/** Host → hashPlan(plan) over `plans`, computed lazily (hashing 100k plans is the slow part of a reconcile). */
export class PlanHashes implements ReadonlyMap<string, string> {
  constructor(private readonly plans: ReadonlyMap<string, HostPlan>) {}

  get size(): number {
    return this.plans.size;
  }
  get(host: string): string | undefined {
    const plan = this.plans.get(host);
    return plan === undefined ? undefined : hashPlan(plan);
  }
  has(host: string): boolean {
    return this.plans.has(host);
  }
  *entries(): MapIterator<[string, string]> {
    for (const [host, plan] of this.plans) yield [host, hashPlan(plan)];
  }
  keys(): MapIterator<string> {
    return this.plans.keys();
  }
  *values(): MapIterator<string> {
    for (const plan of this.plans.values()) yield hashPlan(plan);
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    for (const [host, hash] of this.entries()) fn(hash, host, this);
  }
}
