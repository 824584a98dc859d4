/**
 * `npm run bench [-- NAME…]`: runs every benchmark module in this folder (or the named ones).
 * A benchmark is `bench/NAME.ts` exporting `run(): Promise<void>`, printing its own figures
 * side by side with the reference its issue names.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
// Names come first; flags after them (`fleet --hosts 100000`) are the benchmark's own.
const firstFlag = args.findIndex((a) => a.startsWith('-'));
const wanted = firstFlag < 0 ? args : args.slice(0, firstFlag);
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => f.slice(0, -3))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();
if (names.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ') || '(none built)'}; run \`npm run build\` first`);
  process.exitCode = 2;
}
for (const name of names) {
  console.log(`\n== bench ${name}`);
  const mod = (await import(new URL(`./${name}.js`, import.meta.url).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`bench/${name} exports no run()`);
  await mod.run();
}
