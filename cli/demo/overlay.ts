/**
 * The demo overlay: small edits to a copy of `examples/manifests` so the fleet converges in about a
 * minute on simulated hosts. Committed as its own commit, so `git log -p` in the demo repository
 * shows exactly what differs from the examples (which stay untouched).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, type Document } from 'yaml';

export interface OverlayOptions {
  /** The demo's start time. */
  readonly now: Date;
  /** Seconds until the `lunch` window opens (installs of the editors and the legacy-editor removal). */
  readonly lunchInSeconds: number;
  /** Base URL the demo's Osaka relay (`ferry agent --relay`) listens on. */
  readonly relayUrl: string;
}

/** One edit, for the commit message and the terminal. */
export interface OverlayChange {
  readonly file: string;
  readonly what: string;
}

type Edit = (doc: Document) => string | undefined;

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Applies the overlay to the manifest directory `dir`; returns what it changed. */
export async function applyDemoOverlay(dir: string, o: OverlayOptions): Promise<OverlayChange[]> {
  const nightlyStart = new Date(o.now.getTime() - 60_000);
  const lunchStart = new Date(o.now.getTime() + o.lunchInSeconds * 1000);
  const byName =
    (kind: string, name: string, edit: (doc: Document) => string): Edit =>
    (doc) =>
      doc.getIn(['kind']) === kind && doc.getIn(['metadata', 'name']) === name ? edit(doc) : undefined;

  const edits: Record<string, Edit[]> = {
    'schedules.yaml': [
      byName('Schedule', 'nightly-tokyo', (doc) => {
        doc.setIn(['spec', 'windows'], doc.createNode([{ start: iso(nightlyStart), duration: '2h' }]));
        return `Schedule nightly-tokyo: one window open now (${iso(nightlyStart)}, 2h) instead of weeknights 22:00 JST`;
      }),
      byName('Schedule', 'lunch', (doc) => {
        doc.setIn(['spec', 'windows'], doc.createNode([{ start: iso(lunchStart), duration: '1h' }]));
        return `Schedule lunch: opens in ${o.lunchInSeconds} s (${iso(lunchStart)}, 1h) instead of 12:00 on weekdays`;
      }),
    ],
    'conditions.yaml': [
      byName('Condition', 'vpn-capable', (doc) => {
        doc.deleteIn(['spec', 'software', 'present']);
        return 'Condition vpn-capable: no python3 requirement (simulated hosts report no OS packages)';
      }),
    ],
    'relays.yaml': [
      byName('Relay', 'osaka', (doc) => {
        doc.setIn(['spec', 'url'], o.relayUrl);
        return `Relay osaka: ${o.relayUrl} (relay-osaka-01's local ferry agent --relay)`;
      }),
    ],
  };

  const changes: OverlayChange[] = [];
  for (const [file, fileEdits] of Object.entries(edits)) {
    const path = join(dir, file);
    const docs = parseAllDocuments(await readFile(path, 'utf8'));
    if (!Array.isArray(docs)) throw new Error(`${path}: no YAML documents`);
    const before = changes.length;
    for (const doc of docs) {
      for (const edit of fileEdits) {
        const what = edit(doc);
        if (what !== undefined) changes.push({ file, what });
      }
    }
    if (changes.length - before !== fileEdits.length) {
      throw new Error(`${path}: the demo overlay expected ${fileEdits.length} resource(s) to edit and found ${changes.length - before}; were the examples renamed?`);
    }
    await writeFile(path, docs.map((d) => d.toString({ lineWidth: 0 })).join(''));
  }
  return changes;
}
