/**
 * Reading a bundle's container (DESIGN §5): the tar is parsed as a stream, never extracted by
 * tar itself. Only regular files named `bundle.json`, `plans/HOST.json` and
 * `artifacts/SHA256.tar.gz` are taken; any other entry (a link, a device, `..`, an absolute
 * path, an unknown name) refuses the whole bundle. Artifacts are copied into a staging folder
 * while their sha256 and size are computed.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { EntryChecker } from '../archive/entry-check.js';
import { concatFiles } from './volumes.js';

export interface StagedArtifact {
  readonly sha256: string;
  readonly size: number;
  /** Where it was staged. */
  readonly path: string;
  /** The entry's name in the bundle. */
  readonly entry: string;
}

export interface ReadBundle {
  /** `bundle.json` and `plans/*.json`, by entry name, as text. */
  readonly documents: ReadonlyMap<string, string>;
  /** `artifacts/*`, by entry name. */
  readonly artifacts: ReadonlyMap<string, StagedArtifact>;
}

export type ReadResult = { readonly ok: true; readonly bundle: ReadBundle } | { readonly ok: false; readonly reason: string };

const documentName = /^(bundle\.json|plans\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?\.json)$/;
const artifactName = /^artifacts\/([0-9a-f]{64})\.tar\.gz$/;
const maxDocument = 16 * 1024 * 1024;

/** Parses the bundle `files` (one file or its volumes in order), staging artifacts in `stagingDir`. */
export async function readBundle(files: readonly string[], stagingDir: string): Promise<ReadResult> {
  await mkdir(stagingDir, { recursive: true });
  const documents = new Map<string, string>();
  const artifacts = new Map<string, StagedArtifact>();
  const checker = new EntryChecker();
  const writes: Promise<void>[] = [];
  let refused: string | undefined;
  const refuse = (reason: string) => {
    refused ??= reason;
  };

  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const name = entry.path.replace(/^\.\//, '');
      const problem = checker.check({ path: entry.path, type: entry.type, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
      if (refused || problem || (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory')) {
        refuse(`unsafe entry in the bundle: ${problem ?? `${entry.path}: ${entry.type} entries are not allowed`}`);
        entry.resume();
        return;
      }
      if (entry.type === 'Directory') {
        if (name !== 'plans/' && name !== 'artifacts/') refuse(`unexpected entry in the bundle: ${entry.path}`);
        entry.resume();
        return;
      }
      if (documents.has(name) || artifacts.has(name)) {
        refuse(`the bundle holds ${name} twice`);
        entry.resume();
        return;
      }
      if (documentName.test(name)) {
        if (entry.size > maxDocument) {
          refuse(`${name} is too large to be a bundle document`);
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        writes.push(new Promise<void>((resolve) => entry.on('end', () => resolve(void documents.set(name, Buffer.concat(chunks).toString('utf8'))))));
        return;
      }
      const m = artifactName.exec(name);
      if (!m) {
        refuse(`unexpected entry in the bundle: ${entry.path}`);
        entry.resume();
        return;
      }
      const path = join(stagingDir, `${m[1]}.tar.gz`);
      const hash = createHash('sha256');
      const out = createWriteStream(path);
      let size = 0;
      entry.on('data', (c: Buffer) => {
        hash.update(c);
        size += c.length;
      });
      entry.pipe(out);
      writes.push(finished(out).then(() => void artifacts.set(name, { sha256: hash.digest('hex'), size, path, entry: name })));
    },
  });

  let parseError: string | undefined;
  parser.on('warn', (_code: string, message: string | Error) => {
    parseError ??= typeof message === 'string' ? message : message.message;
  });
  parser.on('error', (e: Error) => {
    parseError ??= e.message;
  });
  try {
    const input = concatFiles(files);
    await new Promise<void>((resolve, reject) => {
      input.on('error', reject);
      parser.on('end', resolve);
      parser.on('close', resolve);
      parser.on('error', () => resolve());
      input.pipe(parser as unknown as NodeJS.WritableStream);
    });
    await Promise.all(writes);
  } catch (e) {
    return { ok: false, reason: `cannot read the bundle: ${(e as Error).message}` };
  }
  if (refused) return { ok: false, reason: refused };
  if (parseError) return { ok: false, reason: `the bundle is truncated or damaged (${parseError})` };
  return { ok: true, bundle: { documents, artifacts } };
}
