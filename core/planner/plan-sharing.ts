/**
 * Sharing across the hosts of one planning run: most hosts get identical actions, so each
 * distinct action (and each distinct list of actions) is one frozen object that every such host's
 * plan points to. Keeps memory and garbage collection proportional to the distinct actions, not
 * to hosts × actions, and lets plan hashing reuse work per shared list (see plan-digest.ts).
 */
import type { ConditionResource } from '../manifest/types.js';
import type { ConditionResult, PlanAction } from '../plan/types.js';
import { hostLayout, IdLists, type HostLayout } from './host-layout.js';
import { markShared } from './shared-lists.js';
import type { ActionTemplate, FixedFields } from './templates.js';
import type { Rollout } from './waves.js';

interface Interned<T> {
  readonly value: T;
  readonly key: number;
}

/** Run-scoped caches; one per planFleet/replan, never shared between runs. */
export class PlanSharing {
  private readonly plans = new Map<string, readonly PlanAction[]>();

  /** `memoPlans: false` plans every host from scratch (for tests that check the memo). */
  constructor(private readonly options: { readonly memoPlans?: boolean } = {}) {}

  /** The actions planned before for a host key (see host-key.ts). */
  knownActions(hostKey: string): readonly PlanAction[] | undefined {
    return this.options.memoPlans === false ? undefined : this.plans.get(hostKey);
  }

  /** Remembers the actions planned for a host key. */
  rememberActions(hostKey: string, actions: readonly PlanAction[]): void {
    if (this.options.memoPlans !== false) this.plans.set(hostKey, actions);
  }

  readonly idLists = new IdLists();
  private readonly layouts = new Map<string, HostLayout>();
  private readonly byList = new Map<readonly string[], HostLayout>();
  private readonly results = new Map<ConditionResource, Map<string, Interned<ConditionResult>>>();
  private readonly resultKeys = new Map<ConditionResult, number>();
  private readonly actions = new Map<FixedFields, Map<string, Interned<PlanAction>>>();
  private readonly lists = new Map<string, readonly PlanAction[]>();
  private readonly reasons = new Map<string, number>();
  private readonly verdicts = new Map<string, { readonly status: 'not-applicable' | 'unknown' | undefined; readonly reason: string | undefined }>();
  private readonly waits = new Map<Rollout, string[]>();
  private nextResultKey = 0;
  private nextActionKey = 0;

  /** A small number per distinct reason text ('' for none); cheap for reasons built once and reused. */
  reasonKey(reason: string | undefined): number {
    if (reason === undefined) return 0;
    let k = this.reasons.get(reason);
    if (k === undefined) {
      k = this.reasons.size + 1;
      this.reasons.set(reason, k);
    }
    return k;
  }

  /** The status and reason that condition results (not all holding) give, computed once per `key`. */
  verdict(key: string, results: readonly ConditionResult[]): { readonly status: 'not-applicable' | 'unknown' | undefined; readonly reason: string | undefined } {
    let v = this.verdicts.get(key);
    if (v === undefined) {
      const failing = results.filter((r) => r.verdict === 'fails');
      const unknown = results.filter((r) => r.verdict === 'unknown');
      const why = (rs: readonly ConditionResult[]) => rs.map((r) => `${r.reason} (condition ${r.name})`).join('; ');
      v =
        failing.length > 0
          ? { status: 'not-applicable', reason: why(failing) }
          : unknown.length > 0
            ? { status: 'unknown', reason: why(unknown) }
            : { status: undefined, reason: undefined };
      this.verdicts.set(key, v);
    }
    return v;
  }

  /** The reason of an action waiting for its rollout wave. */
  waiting(rollout: Rollout, wave: number): string {
    let byWave = this.waits.get(rollout);
    if (byWave === undefined) this.waits.set(rollout, (byWave = []));
    return (byWave[wave] ??= `rollout wave ${wave} of ${rollout.outcome.waves} waits for wave ${rollout.outcome.currentWave}`);
  }

  /** layout(key, make) for a shared list of deployment names, looked up by identity first. */
  layoutOf(deployments: readonly string[], make: () => { templates: readonly ActionTemplate[]; deploymentCount: number }): HostLayout {
    let l = this.byList.get(deployments);
    if (l === undefined) {
      l = this.layout(deployments.join('\0'), make);
      if (Object.isFrozen(deployments)) this.byList.set(deployments, l);
    }
    return l;
  }

  /** The layout of a template list, computed once per distinct `key` (which must determine the list). */
  layout(key: string, make: () => { templates: readonly ActionTemplate[]; deploymentCount: number }): HostLayout {
    let l = this.layouts.get(key);
    if (l === undefined) {
      const { templates, deploymentCount } = make();
      l = hostLayout(this.layouts.size, templates, deploymentCount, this.idLists);
      this.layouts.set(key, l);
    }
    return l;
  }

  /** One shared object per distinct condition result; returns it with its key. */
  result(cond: ConditionResource, r: ConditionResult): Interned<ConditionResult> {
    const known = this.resultKeys.get(r);
    if (known !== undefined) return { value: r, key: known };
    let byText = this.results.get(cond);
    if (byText === undefined) this.results.set(cond, (byText = new Map()));
    const text = `${r.verdict}\u0001${r.reason ?? ''}`;
    let e = byText.get(text);
    if (e === undefined) {
      const key = this.nextResultKey++;
      e = { value: Object.isFrozen(r) ? r : Object.freeze({ ...r }), key };
      byText.set(text, e);
      this.resultKeys.set(e.value, key);
    }
    return e;
  }

  /**
   * The shared action for `fixed` and a host-specific part described by `key`; `make(fixed, from)`
   * builds it the first time. `key` must determine every field `make` adds to `fixed`.
   */
  action<T>(fixed: FixedFields, key: string, from: T, make: (fixed: FixedFields, from: T) => PlanAction): Interned<PlanAction> {
    let byKey = this.actions.get(fixed);
    if (byKey === undefined) this.actions.set(fixed, (byKey = new Map()));
    let e = byKey.get(key);
    if (e === undefined) {
      e = { value: Object.freeze(make(fixed, from)), key: this.nextActionKey++ };
      byKey.set(key, e);
    }
    return e;
  }

  /** The shared frozen list of these actions; `key` is their action keys joined. */
  list(key: string, actions: readonly PlanAction[]): readonly PlanAction[] {
    let l = this.lists.get(key);
    if (l === undefined) {
      l = Object.freeze([...actions]);
      markShared(l);
      this.lists.set(key, l);
    }
    return l;
  }
}
