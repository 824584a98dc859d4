/**
 * Everything `ferry bundle apply` checks before anything runs (DESIGN §5): the controller key is
 * the pinned one (or the one whose fingerprint the operator carried), the index and the plan are
 * signed by it, the plan is for this host, not expired and not older than the applied one, every
 * artifact is there with its sha256 and size, and no artifact holds an unsafe entry.
 */
import { createHash } from 'node:crypto';
import { list, type ReadEntry } from 'tar';
import { bundleFormat, type BundleHost, type BundleIndex } from '../../core/bundle/format.js';
import type { Plan } from '../../core/plan/types.js';
import { acceptPlan, keyFingerprint, sameFingerprint, verifyDocument } from '../../core/signing/index.js';
import { EntryChecker } from '../archive/entry-check.js';
import type { ReadBundle } from './read-bundle.js';

export interface TrustInputs {
  /** The controller key pinned in DATA (enrollment, or an earlier bundle), SPKI PEM. */
  readonly pinnedKey?: string;
  /** `--controller-fingerprint`. */
  readonly fingerprint?: string;
  readonly host: string;
  /** Serial of the plan this host applied last. */
  readonly lastSerial?: number;
  readonly now: Date;
}

export interface VerifiedBundle {
  readonly index: BundleIndex;
  readonly entry: BundleHost;
  readonly plan: Plan;
  /** sha256 → staged file. */
  readonly artifacts: ReadonlyMap<string, string>;
}

export type Verdict = { readonly ok: true; readonly bundle: VerifiedBundle } | { readonly ok: false; readonly reason: string };

export async function verifyBundle(read: ReadBundle, t: TrustInputs): Promise<Verdict> {
  const refuse = (reason: string): Verdict => ({ ok: false, reason });
  const indexText = read.documents.get('bundle.json');
  if (indexText === undefined) return refuse('the bundle has no bundle.json: it is truncated or not a Ferry bundle');
  let index: BundleIndex;
  try {
    index = JSON.parse(indexText) as BundleIndex;
  } catch {
    return refuse('bundle.json is not JSON: the bundle is damaged');
  }
  if (index.format !== bundleFormat || typeof index.controllerKey !== 'string' || !Array.isArray(index.hosts) || !Array.isArray(index.artifacts)) {
    return refuse(`bundle.json is not a ${bundleFormat} index`);
  }
  let fingerprint: string;
  try {
    fingerprint = keyFingerprint(index.controllerKey);
  } catch {
    return refuse('the bundle names no valid controller key');
  }
  if (t.pinnedKey !== undefined) {
    const pinned = keyFingerprint(t.pinnedKey);
    if (pinned !== fingerprint) return refuse(`the bundle is signed by controller key ${fingerprint}, not the key pinned in this data folder (${pinned})`);
  }
  if (t.fingerprint !== undefined && !sameFingerprint(t.fingerprint, fingerprint)) {
    return refuse(`the bundle is signed by controller key ${fingerprint}, not the --controller-fingerprint given (${t.fingerprint})`);
  }
  if (t.pinnedKey === undefined && t.fingerprint === undefined) {
    return refuse(`unknown controller key ${fingerprint}: this data folder has no pinned key; give --controller-fingerprint with the fingerprint \`ferry bundle export\` printed`);
  }
  const signed = verifyDocument(index, index.controllerKey);
  if (!signed.ok) return refuse(`bundle.json: ${signed.reason} (the bundle was altered)`);

  const entry = index.hosts.find((h) => h.host === t.host);
  if (!entry) return refuse(`the bundle is for ${index.hosts.map((h) => h.host).join(', ')}, not for host ${t.host} (use --name for another name)`);
  const planText = read.documents.get(entry.plan);
  if (planText === undefined) return refuse(`the bundle has no ${entry.plan}: it is truncated`);
  if (createHash('sha256').update(planText).digest('hex') !== entry.planSha256) return refuse(`${entry.plan} does not match its sha256 in bundle.json (the bundle was altered)`);
  let plan: Plan;
  try {
    plan = JSON.parse(planText) as Plan;
  } catch {
    return refuse(`${entry.plan} is not JSON`);
  }
  const accepted = acceptPlan(plan, {
    publicKey: index.controllerKey,
    ...(t.lastSerial !== undefined ? { lastSerial: t.lastSerial } : {}),
    now: t.now.toISOString(),
    host: t.host,
  });
  if (!accepted.ok) return refuse(`the bundle's plan is refused: ${accepted.reason}`);

  const artifacts = new Map<string, string>();
  for (const a of index.artifacts) {
    const staged = read.artifacts.get(a.path);
    if (!staged) return refuse(`artifact ${a.sha256} is missing from the bundle: it is truncated`);
    if (staged.sha256 !== a.sha256 || staged.size !== a.size) {
      return refuse(`artifact ${a.path} does not match bundle.json (sha256 ${staged.sha256}, ${staged.size} bytes; expected ${a.sha256}, ${a.size} bytes)`);
    }
    artifacts.set(a.sha256, staged.path);
  }
  for (const name of read.artifacts.keys()) {
    if (!index.artifacts.some((a) => a.path === name)) return refuse(`the bundle holds ${name}, which bundle.json does not list`);
  }
  for (const a of plan.actions) {
    if (a.op !== 'install' || a.status === 'blocked' || a.status === 'not-applicable') continue;
    if (!artifacts.has(a.artifact.sha256.toLowerCase())) return refuse(`the bundle lacks the artifact of ${a.package} ${a.version} (${a.artifact.sha256})`);
  }
  for (const [sha, path] of artifacts) {
    const problem = await unsafeEntry(path);
    if (problem) return refuse(`artifact ${sha}: ${problem}`);
  }
  return { ok: true, bundle: { index, entry, plan, artifacts } };
}

/** The first entry of a .tar.gz that may not be extracted, or a read error; undefined when all are safe. */
async function unsafeEntry(path: string): Promise<string | undefined> {
  const checker = new EntryChecker();
  let problem: string | undefined;
  try {
    await list({
      file: path,
      strict: true,
      onReadEntry: (e: ReadEntry) => {
        problem ??= checker.check({ path: e.path, type: e.type, ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
      },
    });
  } catch (e) {
    return `not a readable .tar.gz (${(e as Error).message})`;
  }
  return problem;
}
