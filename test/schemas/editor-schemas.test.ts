/**
 * Editor support for every document of a multi-document file (issue 15, item 19): the example
 * repository's `.vscode/settings.json` maps manifest.schema.json onto every manifest file (a
 * modeline covers only a file's first document), and the controller serves the schemas without
 * authentication at `/schemas/…` — fetched from there, with their `$ref`s, they check every
 * document of every example file, as they would in a copied repository.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { RunningController } from '../../controller/controller.js';
import { ferryVersion } from '../../lib/version.js';
import { startTestController } from '../support/controller.js';
import { repoRoot } from '../support/ferry.js';

type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

const examples = join(repoRoot, 'examples', 'manifests');

/** Every manifest file of the example repository, relative to it (dot-folders skipped, as the controller does). */
function manifestFiles(): string[] {
  return readdirSync(examples, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => relative(examples, join(e.parentPath, e.name)))
    .filter((p) => !p.split('/').some((s) => s.startsWith('.')))
    .sort();
}

/** A VS Code glob (`*`, `**`) as a regular expression over a relative path. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('**/')
    .map((part) =>
      part
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]'),
    )
    .join('(?:.*/)?');
  return new RegExp(`^${body}$`);
}

describe('editor support: the yaml.schemas mapping and /schemas/', () => {
  it('maps schemas/manifest.schema.json onto every example manifest file', () => {
    const settings = JSON.parse(readFileSync(join(examples, '.vscode', 'settings.json'), 'utf8')) as { 'yaml.schemas': Record<string, string[]> };
    const mapping = Object.entries(settings['yaml.schemas']);
    expect(mapping.map(([schema]) => resolve(examples, schema))).to.deep.equal([join(repoRoot, 'schemas', 'manifest.schema.json')]);
    const patterns = mapping[0]![1].map(globToRegExp);
    const files = manifestFiles();
    expect(files.length).to.be.at.least(7);
    expect(files.filter((f) => !patterns.some((p) => p.test(f)))).to.deep.equal([]);
  });

  describe('served by the controller', () => {
    let data: string;
    let controller: RunningController;
    before(async () => {
      data = mkdtempSync(join(tmpdir(), 'ferry-schemas-'));
      controller = await startTestController({ dir: examples, data });
    });
    after(async () => {
      await controller?.stop();
      rmSync(data, { recursive: true, force: true });
    });

    it('serves the current schemas without a token, cached briefly and revalidated by ETag', async () => {
      const res = await fetch(`${controller.url}/schemas/manifest.schema.json`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('public, max-age=300');
      expect(res.headers.get('content-type')).to.equal('application/schema+json; charset=utf-8');
      expect(await res.text()).to.equal(readFileSync(join(repoRoot, 'schemas', 'manifest.schema.json'), 'utf8'));
      const again = await fetch(`${controller.url}/schemas/manifest.schema.json`, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect(again.status).to.equal(304);
    });

    it('serves its own version immutably, and says which version it serves for another', async () => {
      const res = await fetch(`${controller.url}/schemas/${ferryVersion}/group.schema.json`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
      const other = await fetch(`${controller.url}/schemas/0.0.1/group.schema.json`);
      expect(other.status).to.equal(404);
      expect(((await other.json()) as { error: { message: string } }).error.message).to.equal(
        `this controller serves the schemas of Ferry ${ferryVersion}, not 0.0.1; use /schemas/${ferryVersion}/… or /schemas/… (current)`,
      );
      expect((await fetch(`${controller.url}/schemas/nothing.schema.json`)).status).to.equal(404);
      expect((await fetch(`${controller.url}/schemas/..%2Fpackage.json`)).status).to.equal(400);
    });

    it('checks every document of every example file with the schemas fetched from it, $refs included', async () => {
      for (const base of [`${controller.url}/schemas/`, `${controller.url}/schemas/${ferryVersion}/`]) {
        const fetched: string[] = [];
        const ajv = addFormats(
          new Ajv({
            loadSchema: async (uri) => {
              fetched.push(uri.slice(base.length));
              const res = await fetch(uri);
              expect(res.status, uri).to.equal(200);
              // A relative $id is resolved against the URL it was fetched from (JSON Schema §8.2.1), as editors do.
              const schema = (await res.json()) as { $id?: string };
              return { ...schema, $id: new URL(schema.$id ?? '', uri).href };
            },
          }),
        );
        const root = (await (await fetch(`${base}manifest.schema.json`)).json()) as { $id?: string };
        const validate = await ajv.compileAsync({ ...root, $id: new URL(root.$id ?? '', `${base}manifest.schema.json`).href });
        expect(fetched).to.include('common.schema.json');
        let documents = 0;
        for (const file of manifestFiles()) {
          for (const doc of parseAllDocuments(readFileSync(join(examples, file), 'utf8'))) {
            const value = doc.toJS() as unknown;
            if (value === null || value === undefined) continue;
            documents++;
            expect(validate(value), `${file}: ${JSON.stringify(validate.errors)}`).to.equal(true);
          }
        }
        expect(documents).to.be.greaterThan(manifestFiles().length);
      }
    });
  });
});
