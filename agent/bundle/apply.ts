/**
 * `ferry bundle apply` (DESIGN §3): read and verify the whole bundle first (nothing runs, nothing
 * in DATA changes on a refusal), then apply its plan with the agent's own Executor, journal and
 * crash recovery — windows do not apply, conditions are checked here — and write the results
 * file, HMAC-signed with the bundle's results key. A second apply (or one after a crash) resumes
 * from the journal and never runs an installer twice.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resultsFormat, signResults, type ResultsFile } from '../../core/bundle/format.js';
import { checkInstall } from '../../core/signing/index.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { writePrivateFile } from '../../lib/write-private.js';
import { loadCredential } from '../enroll/credential.js';
import { buildInventory } from '../inventory/inventory.js';
import { Journal } from '../journal/journal.js';
import { recoverInterrupted } from '../journal/recovery.js';
import { lockDataDir } from '../lock.js';
import type { EventSink } from '../log/events.js';
import { ArchiveUnpacker } from '../runner/archive-unpacker.js';
import { CommandInstaller } from '../runner/command-installer.js';
import { Executor, type Outcome } from '../runner/executor.js';
import { Reporter } from '../runner/reporter.js';
import { loadPinnedPublishers } from '../trust/pinned-publishers.js';
import { BundleDownloader } from './bundle-downloader.js';
import { readBundle } from './read-bundle.js';
import { verifyBundle } from './verify-bundle.js';
import { findBundleFiles } from './volumes.js';

/** Journal setting: the controller key trusted by fingerprint at a first bundle apply (SPKI PEM). */
export const pinnedKeySetting = 'bundle-controller-key';

export interface ApplyOptions {
  /** FILE, or FILE.001 of volumes. */
  readonly file: string;
  readonly dataDir: string;
  readonly installRoot: string;
  /** `--name`; default: the enrolled host name, else `defaultName`. */
  readonly name?: string;
  readonly defaultName: string;
  readonly fingerprint?: string;
  /** `--results`; default `FILE.results-HOST.json` next to the bundle. */
  readonly results?: string;
  readonly events: EventSink;
  readonly clock?: Clock;
}

export type ApplyResult =
  | { readonly ok: false; readonly reason: string }
  | {
      readonly ok: true;
      readonly host: string;
      readonly serial: number;
      readonly resultsFile: string;
      readonly outcomes: ReadonlyMap<string, Outcome>;
    };

export async function applyBundle(o: ApplyOptions): Promise<ApplyResult> {
  const clock = o.clock ?? systemClock;
  const dataDir = resolve(o.dataDir);
  const dataExisted = existsSync(dataDir);
  const found = await findBundleFiles(o.file);
  if (!found.ok) return found;
  const credential = dataExisted ? await loadCredential(dataDir) : undefined;
  const journalExists = existsSync(join(dataDir, 'journal.db'));
  let pinnedKey = credential?.controllerKey;
  let lastSerial: number | undefined;
  let knownHost: string | undefined;
  if (journalExists) {
    const j = Journal.open(dataDir);
    try {
      pinnedKey ??= j.get(pinnedKeySetting);
      knownHost = j.get('bundle-host');
      lastSerial = j.lastPlan()?.serial;
    } finally {
      j.close();
    }
  }
  const host = o.name ?? credential?.host ?? knownHost ?? o.defaultName;

  const staging = join(dataDir, `bundle-staging-${randomUUID()}`);
  try {
    const read = await readBundle(found.files, staging);
    if (!read.ok) return { ok: false, reason: found.volumes && /truncated/.test(read.reason) ? `${read.reason}; is a volume missing or cut short?` : read.reason };
    const verdict = await verifyBundle(read.bundle, {
      ...(pinnedKey !== undefined ? { pinnedKey } : {}),
      ...(o.fingerprint !== undefined ? { fingerprint: o.fingerprint } : {}),
      host,
      ...(lastSerial !== undefined ? { lastSerial } : {}),
      now: new Date(clock.now()),
    });
    if (!verdict.ok) return verdict;
    const { index, entry, plan, artifacts } = verdict.bundle;

    // Verified: from here on DATA changes.
    await mkdir(resolve(o.installRoot), { recursive: true });
    const unlock = await lockDataDir(dataDir);
    const journal = Journal.open(dataDir, { clock });
    try {
      const saved = journal.savePlan(plan);
      if (!saved.saved) return { ok: false, reason: `the bundle's plan is refused: ${saved.reason}` };
      if (!credential) {
        journal.set(pinnedKeySetting, index.controllerKey);
        journal.set('bundle-host', host);
      }
      const reporter = new Reporter(journal, () => undefined, clock);
      const installer = new CommandInstaller(resolve(o.installRoot));
      const recovered = await recoverInterrupted(reporter, {
        detectFor: (rec) => plan.actions.find((a) => a.id === rec.actionId)?.detect,
        detect: async (spec, rec) => (await installer.run(spec, { dir: rec.dir ?? dataDir })).kind === 'succeeded',
        clock,
      });
      for (const [action, decision] of recovered) o.events.emit({ event: 'recovered', level: 'warn', action, decision, message: `after a crash: ${action} → ${decision}` });
      // The host's own pinned publisher keys (DATA/trusted-publishers.json) apply offline too.
      const pinned = await loadPinnedPublishers(dataDir);
      const executor = new Executor({
        reporter,
        publisher: (a) => checkInstall(a, pinned, new Date(clock.now()).toISOString()),
        downloader: new BundleDownloader(dataDir, artifacts),
        unpacker: new ArchiveUnpacker(dataDir),
        installer,
        clock,
        inventory: () => buildInventory({ host, dataDir, installRoot: resolve(o.installRoot), labels: {}, overrides: [], journal }),
        events: o.events,
        latestPlan: () => plan,
        stopping: () => false,
        ignoreWindows: true,
      });
      const pass = await executor.pass(plan);
      const appliedAt = new Date(clock.now()).toISOString();
      const results: ResultsFile = signResults(
        { format: resultsFormat, bundleId: index.id, host, serial: plan.serial, appliedAt, reports: journal.pendingReports(1_000_000) },
        entry.resultsKey,
      );
      const resultsFile = resolve(o.results ?? `${found.files[0]!.replace(/\.\d{3}$/, '')}.results-${host}.json`);
      try {
        await writePrivateFile(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        return {
          ok: false,
          reason: `cannot write the results file ${resultsFile} (${why}); apply again with --results FILE on writable media (the journal resumes: nothing installs twice)`,
        };
      }
      return { ok: true, host, serial: plan.serial, resultsFile, outcomes: pass.outcomes };
    } finally {
      journal.close();
      await unlock();
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
    if (!dataExisted && !existsSync(join(dataDir, 'journal.db'))) await rm(dataDir, { recursive: true, force: true });
  }
}
