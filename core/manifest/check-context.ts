/** What the semantic checks share: the valid resources with their documents, every name seen, a problem sink. */
import type { AnyResource, Kind, Severity, SourcePosition } from './types.js';
import type { JsonPath, Target, YamlDocument } from './yaml-documents.js';

/** A valid, normalised resource and the document it came from (to locate problems in it). */
export interface Entry<R extends AnyResource = AnyResource> {
  readonly resource: R;
  readonly doc: YamlDocument;
}

/** Names defined per kind by any document that names itself, valid or not (so one bad document does not make every reference to it dangle). */
export interface KnownNames {
  readonly names: ReadonlyMap<Kind, ReadonlyMap<string, YamlDocument>>;
  /** Package name → its versions. */
  readonly versions: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Records one problem at a path of a resource's document. */
export type Reporter = (entry: Entry, path: JsonPath, severity: Severity, message: string, target?: Target) => void;

export interface CheckContext {
  /** Valid resources in file and document order. */
  readonly entries: readonly Entry[];
  readonly known: KnownNames;
  readonly report: Reporter;
}

/** The entries of one kind. */
export function entriesOf<K extends Kind>(ctx: CheckContext, kind: K): Entry<Extract<AnyResource, { kind: K }>>[] {
  return ctx.entries.filter((e): e is Entry<Extract<AnyResource, { kind: K }>> => e.resource.kind === kind);
}

/** `groups/sales.yaml:3`. */
export function where(pos: SourcePosition): string {
  return `${pos.file}:${pos.line}`;
}
