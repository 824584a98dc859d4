/** A Package's declared unpacked size (issue 15, item 8) is read as bytes and reaches the snapshot. */
import { expect } from 'chai';
import { loadManifests } from '../../../core/manifest/index.js';

const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const pkg = (artifact: string) =>
  `apiVersion: ferry/v1\nkind: Package\nmetadata: {name: p}\nspec:\n  version: "1.0.0"\n  artifact: {sha256: ${SHA}, size: 1MiB${artifact}}\n  install: {command: [sh, install.sh]}\n`;

describe('loadManifests: spec.artifact.unpackedSize', () => {
  it('reads it as bytes', () => {
    const result = loadManifests([{ path: 'p.yaml', content: pkg(', unpackedSize: 3MiB') }]);
    expect(result.problems).to.deep.equal([]);
    expect(result.snapshot?.packages.get('p')?.get('1.0.0')?.spec.artifact).to.deep.equal({ sha256: SHA, size: 1024 * 1024, unpackedSize: 3 * 1024 * 1024 });
  });

  it('leaves it out when not declared', () => {
    const result = loadManifests([{ path: 'p.yaml', content: pkg('') }]);
    expect(result.snapshot?.packages.get('p')?.get('1.0.0')?.spec.artifact).to.deep.equal({ sha256: SHA, size: 1024 * 1024 });
  });

  it('refuses a value that is no size', () => {
    const result = loadManifests([{ path: 'p.yaml', content: pkg(', unpackedSize: lots') }]);
    expect(result.problems.map((p) => `${p.line}:${p.col}: ${p.message}`)).to.deep.equal([
      '6:114: spec.artifact.unpackedSize: "lots" is not a size (use bytes or e.g. 512KiB, 4MiB, 2GiB, 1GB)',
    ]);
  });
});
