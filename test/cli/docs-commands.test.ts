/**
 * The README's and the docs' commands run as written on a fresh clone (issue 15 item 18): the
 * deployments and files they name exist in the example fleet, the README's commands work from
 * the checkout (`npx ferry`), and the packaging walk-through adds a version that validates.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ferryBin, repoRoot } from '../support/ferry.js';

interface Command {
  readonly page: string;
  readonly argv: readonly string[];
}

/** Every `ferry …` line of the ```sh blocks of a Markdown page, continuation lines joined, comments dropped. */
function ferryCommands(page: string, text: string): Command[] {
  const out: Command[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = block[1]!.replace(/\\\n\s*/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      const words = line.split(/\s+/).filter((w) => w !== '');
      const start = words[0] === 'npx' ? 1 : 0;
      if (words[start] === 'ferry') out.push({ page, argv: words.slice(start) });
    }
  }
  return out;
}

async function pages(): Promise<{ page: string; text: string }[]> {
  const docs = (await readdir(join(repoRoot, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return Promise.all(['README.md', ...docs].map(async (page) => ({ page, text: await readFile(join(repoRoot, page), 'utf8') })));
}

async function exampleDeployments(): Promise<Set<string>> {
  const dir = join(repoRoot, 'examples', 'manifests', 'deployments');
  const names = new Set<string>();
  for (const f of await readdir(dir)) {
    for (const doc of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
      const d = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (d?.kind === 'Deployment' && d.metadata?.name) names.add(d.metadata.name);
    }
  }
  return names;
}

function sh(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-ec', script], { cwd, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the docs' commands", function () {
  this.timeout(120_000);

  it('name deployments of the example fleet (status, suspend, resume) and files that exist', async () => {
    const deployments = await exampleDeployments();
    const wrong: string[] = [];
    for (const { page, text } of await pages()) {
      for (const { argv } of ferryCommands(page, text)) {
        const [, command, ...rest] = argv;
        const args = rest.filter((a) => !a.startsWith('-'));
        if ((command === 'status' || command === 'suspend' || command === 'resume') && args[0] !== undefined && !args[0].includes('$')) {
          if (!deployments.has(args[0]!)) wrong.push(`${page}: \`${argv.join(' ')}\`: no deployment ${args[0]} in examples/manifests`);
        }
        for (const a of rest.filter((x) => x.startsWith('examples/'))) {
          if (!existsSync(join(repoRoot, a))) wrong.push(`${page}: \`${argv.join(' ')}\`: ${a} does not exist`);
        }
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it("the README's commands run from a fresh checkout as written (npx ferry), and it says how to get ferry on PATH", async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).to.contain('npm link');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const bare = blocks.flatMap((b) => b.split('\n')).filter((l) => /^\s*ferry\s/.test(l));
    expect(bare, 'README commands must work without ferry on PATH').to.deep.equal([]);
    // `npx ferry` resolves to this package's bin: run each README command through it.
    for (const line of blocks.flatMap((b) => b.split('\n')).filter((l) => /^\s*npx ferry\s/.test(l))) {
      const r = await sh(line.replace(/^\s*npx ferry/, `node ${ferryBin}`), repoRoot, {});
      expect(r.code, `${line}\n${r.stderr}`).to.equal(0);
    }
  });

  it('the packaging walk-through, run in a copy of the example repository, adds a version that validates', async () => {
    const text = await readFile(join(repoRoot, 'docs', 'packaging.md'), 'utf8');
    const block = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('ferry package build'))!;
    const work = await mkdtemp(join(tmpdir(), 'ferry-docs-'));
    try {
      await cp(join(repoRoot, 'examples', 'manifests'), join(work, 'examples', 'manifests'), { recursive: true });
      await cp(join(repoRoot, 'examples', 'packages'), join(work, 'examples', 'packages'), { recursive: true });
      // `ferry` on PATH, as `npm link` would give.
      await mkdir(join(work, 'bin'));
      await writeFile(join(work, 'bin', 'ferry'), `#!/bin/sh\nexec "${process.execPath}" "${ferryBin}" "$@"\n`);
      await chmod(join(work, 'bin', 'ferry'), 0o755);
      const r = await sh(block, work, { PATH: `${join(work, 'bin')}:${process.env['PATH']}` });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^ok( with \d+ warnings?)? in \d+ files/m);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
