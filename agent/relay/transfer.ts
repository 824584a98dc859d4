/** The one place the relay imports the transfer layer (resumable, sha256-verified downloads). */
export { download, type DownloadResult, type DownloadSource } from '../../lib/transfer/download.js';
export { checkContent, markVerified } from '../../lib/transfer/verified.js';
