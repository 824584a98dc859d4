/**
 * Whether the artifacts of the desired revision are available: ingested once per revision, and
 * again when content was pushed or a failed fetch is due for another try. Records what is
 * unavailable for `/v1/status` on every replica.
 */
import type { Logger } from 'pino';
import type { Snapshot } from '../../core/manifest/types.js';
import type { ArtifactChunks } from '../../core/plan/types.js';
import type { Availability, ContentIngester } from '../content/ingest.js';
import type { ManifestSource } from '../source/source.js';
import type { Store } from '../store/store.js';

/** An artifact no plan may point at, with the packages that name it and why. */
export interface UnavailableContent {
  readonly sha256: string;
  /** `name@version` of each package whose artifact it is, sorted. */
  readonly packages: readonly string[];
  readonly reason: string;
}

/** The meta key under which the leader records unavailable content for every replica's `/v1/status`. */
export const unavailableContentKey = 'content.unavailable';

export interface ContentCheckOptions {
  /** Absent: every artifact counts as available (tests, tools). */
  readonly content?: ContentIngester;
  readonly source: ManifestSource;
  readonly store: Store;
  readonly logger: Logger;
  /** Asks for a pass (a download finished, a retry is due). */
  readonly trigger: (reason: string) => void;
  /** Asks for a pass after a delay. */
  readonly after: (delayMs: number, reason: string) => void;
  readonly retryMs: number;
}

export class ContentCheck {
  private availability: ReadonlyMap<string, Availability> = new Map();
  private revision: string | undefined;
  private dirty = false;
  private retryArmed = false;
  private recorded: string | undefined;

  constructor(private readonly options: ContentCheckOptions) {}

  /** True when `sha256` is known to be unavailable (so new content for it must be checked). */
  isUnavailable(sha256: string): boolean {
    const known = this.availability.get(sha256);
    return known !== undefined && !known.available;
  }

  /** The next `unavailable()` ingests again (content was pushed or fetched). */
  markDirty(): void {
    this.dirty = true;
  }

  /** Artifacts of `snapshot` that no plan points at, and why. */
  describe(snapshot: Snapshot | undefined): UnavailableContent[] {
    return describeUnavailable(snapshot, this.availability);
  }

  /** The artifacts of `desired` that are unavailable, sha256 → reason. */
  async unavailable(desired: Snapshot): Promise<ReadonlyMap<string, string>> {
    const { content, source, logger } = this.options;
    if (content === undefined) return new Map();
    if (desired.revision !== this.revision || this.dirty) {
      this.dirty = false;
      const packages = [...desired.packages.values()].flatMap((versions) => [...versions.values()]);
      const t0 = performance.now();
      this.availability = await content.ingest(
        packages,
        (path) => source.readFile(desired.revision, path),
        desired.revision,
        // A download that outlived this pass: check again (and plan its installs) once it ends.
        (sha256) => this.options.trigger(`content-fetched:${sha256}`),
      );
      this.revision = desired.revision;
      const missing = describeUnavailable(desired, this.availability);
      const log = { revision: desired.revision, artifacts: this.availability.size, unavailable: missing.length, ms: Math.round(performance.now() - t0) };
      if (missing.length > 0) {
        logger.warn({ ...log, reasons: missing.slice(0, 20).map((m) => `${m.packages.join(', ')}: ${m.reason}`) }, 'reconcile: content unavailable; installs of it are blocked');
      } else logger.info(log, 'reconcile: content checked');
      // A fetch may work later (a URL that was down, an artifact published late); a push says so itself.
      const fetchable = new Set(packages.filter((p) => p.spec.artifact.source !== undefined).map((p) => p.spec.artifact.sha256));
      if (missing.some((m) => fetchable.has(m.sha256)) && !this.retryArmed) {
        this.retryArmed = true;
        this.options.after(this.options.retryMs, 'content-retry');
      }
    }
    const unavailable = new Map<string, string>();
    for (const [sha, a] of this.availability) if (!a.available) unavailable.set(sha, a.reason);
    return unavailable;
  }

  /**
   * The per-chunk sha256s of the available artifacts that `distribute.multicast` deployments of
   * `desired` install, by sha256 (call after `unavailable`): the planner puts them in those plans.
   */
  async chunks(desired: Snapshot): Promise<ReadonlyMap<string, ArtifactChunks>> {
    const { content } = this.options;
    const out = new Map<string, ArtifactChunks>();
    if (content === undefined) return out;
    for (const dep of desired.deployments.values()) {
      if (!dep.spec.distribute.multicast) continue;
      for (const p of dep.spec.packages) {
        const artifact = p.state === 'present' ? desired.packages.get(p.name)?.get(p.version)?.spec.artifact : undefined;
        if (artifact === undefined || out.has(artifact.sha256) || this.availability.get(artifact.sha256)?.available !== true) continue;
        const chunks = await content.chunks(artifact.sha256, artifact.size);
        if (chunks !== undefined) out.set(artifact.sha256, chunks);
      }
    }
    return out;
  }

  /** A `content-retry` pass ran: another retry may be armed. */
  retried(): void {
    this.retryArmed = false;
  }

  /** Records the unavailable content for `/v1/status` (on any replica) when it changed. */
  async record(desired: Snapshot): Promise<void> {
    if (this.options.content === undefined) return;
    const text = JSON.stringify({ revision: desired.revision, unavailable: describeUnavailable(desired, this.availability) });
    if (text === this.recorded) return;
    await this.options.store.setMeta(unavailableContentKey, text);
    this.recorded = text;
  }
}

/** The unavailable artifacts of a snapshot with the packages naming them, by sha256. */
function describeUnavailable(snapshot: Snapshot | undefined, availability: ReadonlyMap<string, Availability>): UnavailableContent[] {
  if (snapshot === undefined) return [];
  const names = new Map<string, string[]>();
  for (const versions of snapshot.packages.values()) {
    for (const p of versions.values()) {
      const list = names.get(p.spec.artifact.sha256) ?? [];
      list.push(`${p.metadata.name}@${p.spec.version}`);
      names.set(p.spec.artifact.sha256, list);
    }
  }
  const out: UnavailableContent[] = [];
  for (const [sha256, a] of availability) {
    if (!a.available) out.push({ sha256, packages: (names.get(sha256) ?? []).sort(), reason: a.reason });
  }
  return out;
}
