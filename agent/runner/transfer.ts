/** The one place the runner imports the transfer layer (resumable verified downloads, boot-verified records). */
export { download, type DownloadAttempt, type DownloadSource } from '../../lib/transfer/download.js';
export { checkContent, markVerified, verifiedThisBoot } from '../../lib/transfer/verified.js';
