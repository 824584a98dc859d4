/**
 * Which content a host may read (issue 11): what its current plan needs. A relay's credential
 * reads what its own plan or the plan of any host it serves needs (relay-directory.ts), so it can
 * prefetch for its site. A host the controller has not planned yet is not refused here (it has
 * nothing to ask for; its first plan follows its first inventory). The admin reads everything.
 */
import type { Caller } from './auth.js';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';

/** The artifact sha256s the actions of `host`'s current plan name; undefined when it has no plan. */
export async function planContent(deps: Pick<ApiDeps, 'store'>, host: string): Promise<ReadonlySet<string> | undefined> {
  const plan = await deps.store.getPlan(host);
  return plan && new Set(plan.body.actions.map((a) => a.artifact.sha256.toLowerCase()));
}

/** Resolves when `caller` may read `sha256`; throws 403 `content-not-in-plan` otherwise. */
export async function checkContentAccess(deps: Pick<ApiDeps, 'store' | 'desired'>, caller: Caller | undefined, sha256: string): Promise<void> {
  if (!caller || caller.kind === 'admin') return;
  const served = (deps.desired?.relays?.()?.relaysOn(caller.host) ?? []).flatMap((r) => [...r.served]);
  let planned = false;
  for (const host of [caller.host, ...served]) {
    const needs = await planContent(deps, host);
    if (!needs) continue;
    planned = true;
    if (needs.has(sha256)) return;
  }
  if (!planned) return;
  throw new ApiError(
    403,
    'content-not-in-plan',
    served.length > 0
      ? `content ${sha256} is not in the plan of ${caller.host} nor of any host its relay serves; a relay reads only what its site's plans need`
      : `content ${sha256} is not in the current plan of ${caller.host}; a host reads only the content its plan names (poll the plan again if it just changed)`,
    { host: caller.host, sha256 },
  );
}
