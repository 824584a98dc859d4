/** The controller's content store: artifacts by sha256. */
export * from './content-store.js';
export { DirectoryContentStore } from './directory-content-store.js';
export { ContentIngester, checkRepoPath, type Availability, type ContentIngesterOptions, type ReadRepoFile, type RepoFile } from './ingest.js';
export { CHUNK_SIZE, ChunkIndex, chunkHashes } from './chunks.js';
export { PEER_HEADER, PeerContentStore, type PeerContentOptions } from './peer-content-store.js';
