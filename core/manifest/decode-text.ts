/** Bytes → text, refusing files over the size limit and bytes that are not UTF-8. */
import { formatBytes } from '../units/bytes.js';
import type { ManifestFile } from './types.js';

/** Text of a file, or why it cannot be read, with the 1-based line and column of the first bad byte. */
export type Decoded = { readonly text: string } | { readonly line: number; readonly col: number; readonly message: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes a manifest file (`length`: its byteLength, when known); sizes over `maxBytes` and invalid UTF-8 are reported, not thrown. */
export function decodeText(file: ManifestFile, maxBytes: number, length = byteLength(file)): Decoded {
  if (file.unreadable !== undefined) return { line: 1, col: 1, message: `cannot read this file: ${file.unreadable}` };
  if (length > maxBytes) {
    return { line: 1, col: 1, message: `file is ${formatBytes(length)}, over the ${formatBytes(maxBytes)} limit for one manifest file; split it into several files` };
  }
  if (typeof file.content === 'string') return { text: file.content };
  try {
    return { text: decoder.decode(file.content) };
  } catch {
    return badByte(file.content);
  }
}

/** The file's size in bytes (its full size when the reader passed only a prefix). */
export function byteLength(file: ManifestFile): number {
  const { content } = file;
  const read = typeof content === 'string' ? utf8Length(content) : content.length;
  return Math.max(read, file.size ?? 0);
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function badByte(bytes: Uint8Array): Decoded {
  const offset = firstInvalidUtf8(bytes);
  let lineStart = 0;
  let line = 1;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const col = decoder.decode(bytes.subarray(lineStart, offset)).length + 1;
  const hex = bytes[offset]!.toString(16).padStart(2, '0');
  return { line, col, message: `file is not UTF-8 text (byte 0x${hex} at offset ${offset}); save it as UTF-8` };
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let need = 0;
    let min = 0;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const n = b[i + k];
      if (n === undefined || (n & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (n & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return b.length;
}
