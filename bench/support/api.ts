/** The controller API as the benchmarks serve it: a real store and content directory, no source and no reconciler. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { pino } from 'pino';
import type { ApiDeps } from '../../controller/api/deps.js';
import { systemClock } from '../../lib/clock.js';

export const benchAdminToken = 'bench-admin-token-0123456789';

/** `publicKey`: the plan-signing key the documents in `store` were signed with (default: a new one). */
export function benchApiDeps(store: ApiDeps['store'], content: ApiDeps['content'], publicKey: KeyObject = generateKeyPairSync('ed25519').publicKey): ApiDeps {
  return {
    store,
    content,
    keys: { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), adminToken: benchAdminToken },
    source: { status: () => ({}), refresh: async () => undefined },
    reconciler: { inventoryChanged: () => undefined, reportsIngested: () => undefined, overridesChanged: () => undefined },
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    ready: () => true,
  };
}
