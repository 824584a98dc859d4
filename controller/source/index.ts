/** Where manifests come from: the only code that talks to git. */
export type { ManifestSource, SourceSnapshot, SourceStatus, SnapshotListener } from './source.js';
export { isManifestPath } from './source.js';
export { GitSource, type GitSourceOptions } from './git-source.js';
export { DirSource, contentHash, type DirSourceOptions } from './dir-source.js';
export { sourceKind } from './open-source.js';
export { verifyWebhookSignature, signWebhookBody } from './webhook.js';
export { readManifestDir } from './manifest-dir.js';
export { readManifestsAtRevision, GitRevisionError, type RevisionManifests } from './git-revision.js';
