/** Writing a small private file (mode 0600) so that a crash leaves the old content or the new, never a mix. */
import { open, rename, rm } from 'node:fs/promises';

/** Writes `text` to a temporary file beside `path`, fsyncs it, and renames it over `path`. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
