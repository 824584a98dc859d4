/**
 * What an archive entry may be (DESIGN §5): a file, directory, or link that stays inside the
 * extraction directory. Pure string checks on the tar header, done before anything is written.
 */
import { posix } from 'node:path';

/** The header fields the check looks at. */
export interface EntryHeader {
  readonly path: string;
  readonly type: string;
  readonly linkpath?: string;
}

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * Checks entries one at a time, in archive order; remembers symlinks so that no later entry
 * is written through one. Returns a plain-language problem, or undefined when the entry is fine.
 */
export class EntryChecker {
  private readonly symlinks = new Set<string>();

  check(entry: EntryHeader): string | undefined {
    const path = entry.path;
    if (!ALLOWED.has(entry.type)) return `${path}: ${describeType(entry.type)} entries are not allowed`;
    const problem = checkRelative(path, 'path');
    if (problem) return `${path}: ${problem}`;
    const normal = stripSlashes(path);
    const through = this.symlinkPrefix(normal);
    if (through) return `${path}: goes through the symbolic link ${through}`;
    if (entry.type === 'SymbolicLink') {
      const target = entry.linkpath ?? '';
      if (target === '') return `${path}: symbolic link without a target`;
      if (posix.isAbsolute(target)) return `${path}: symbolic link to an absolute path ${target}`;
      const resolved = posix.normalize(posix.join(posix.dirname(normal), target));
      if (resolved === '..' || resolved.startsWith('../')) return `${path}: symbolic link ${target} points outside the package`;
      this.symlinks.add(normal);
    } else {
      this.symlinks.delete(normal);
    }
    if (entry.type === 'Link') {
      const target = entry.linkpath ?? '';
      const linkProblem = checkRelative(target, 'hard link target');
      if (linkProblem) return `${path}: ${linkProblem}`;
      const via = this.symlinkPrefix(stripSlashes(target), true);
      if (via) return `${path}: hard link target ${target} goes through the symbolic link ${via}`;
    }
    return undefined;
  }

  /** The first proper prefix of `path` (or `path` itself when `inclusive`) that is a symlink of this archive. */
  private symlinkPrefix(path: string, inclusive = false): string | undefined {
    const parts = path.split('/');
    for (let i = 1; i < parts.length + (inclusive ? 1 : 0); i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) return prefix;
    }
    return undefined;
  }
}

function checkRelative(path: string, what: string): string | undefined {
  if (path === '') return `empty ${what}`;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.startsWith('\\')) return `absolute ${what}`;
  if (path.includes('\0')) return `NUL byte in ${what}`;
  if (path.split(/[/\\]/).includes('..')) return `'..' in ${what}`;
  return undefined;
}

function stripSlashes(path: string): string {
  return path
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

function describeType(type: string): string {
  switch (type) {
    case 'CharacterDevice':
      return 'character device';
    case 'BlockDevice':
      return 'block device';
    case 'FIFO':
      return 'FIFO';
    default:
      return type;
  }
}
