#!/usr/bin/env node
// Writes the cad-suite part library: 3 MiB of seeded pseudo-random (incompressible) bytes,
// the same on every machine, so the cad-suite artifact is large enough to show split
// distribution (segmentSize) and still reproducible. The output is committed; run this only
// to regenerate it: `node examples/packages/make-payload.mjs [OUT]` (OUT defaults to the
// committed file; the examples test writes elsewhere and compares).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZE = 3 * 1024 * 1024;
const SEED = 0x4665_7272; // "Ferr"
const out = process.argv[2] ?? fileURLToPath(new URL('./cad-suite-2026.1.0/payload/part-library.dat', import.meta.url));

/** mulberry32: a small, well-known 32-bit PRNG; the same seed gives the same stream everywhere. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const next = mulberry32(SEED);
const bytes = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4) bytes.writeUInt32LE(next(), i);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, bytes);
console.log(`wrote ${out} (${SIZE} bytes)`);
