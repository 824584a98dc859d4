/** The one place the runner imports the transfer layer (resumable verified downloads, boot-verified records). */
export { download, type DownloadAttempt, type DownloadSource } from '../transfer/download.js';
export { checkContent, markVerified, verifiedThisBoot } from '../transfer/verified.js';
