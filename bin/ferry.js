#!/usr/bin/env node
// The ferry command: runs the compiled CLI (npm install builds it through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('ferry: not built yet; run `npm install` (or `npm run build`) in the ferry checkout.');
  process.exit(2);
}
await import(main);
