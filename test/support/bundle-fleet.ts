/**
 * A small fleet for the offline bundle tests: a manifest folder with one package (its install
 * appends a line to `$FERRY_INSTALL_ROOT/installs.log`, so a second install shows), a `Host`
 * manifest for a host that never enrolls, and a deployment whose install window is closed now
 * (bundles ignore windows: the operator is the window).
 */
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArtifact } from '../../cli/artifact.js';

export interface BundleFleet {
  readonly root: string;
  readonly manifests: string;
  readonly artifact: { readonly sha256: string; readonly size: number };
}

/** `installSeconds`: how long the install program sleeps after logging its start (for kill -9 tests). */
export async function makeBundleFleet(options: { readonly installSeconds?: number; readonly hosts?: readonly string[] } = {}): Promise<BundleFleet> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-bundle-fleet-'));
  const pkg = join(root, 'pkg');
  await mkdir(pkg, { recursive: true });
  const sleep = options.installSeconds ? `sleep ${options.installSeconds}\n` : '';
  await writeFile(
    join(pkg, 'install.sh'),
    `#!/bin/sh\nset -eu\nroot="\${FERRY_INSTALL_ROOT%/}"\necho start >> "$root/installs.log"\n${sleep}echo 1.0.0 > "$root/hello.txt"\necho done >> "$root/installs.log"\n`,
  );
  await writeFile(join(pkg, 'detect.sh'), '#!/bin/sh\ntest -f "$FERRY_INSTALL_ROOT/hello.txt"\n');
  await chmod(join(pkg, 'install.sh'), 0o755);
  const manifests = join(root, 'manifests');
  await mkdir(join(manifests, 'artifacts'), { recursive: true });
  const artifact = await buildArtifact(pkg, join(manifests, 'artifacts', 'hello-1.0.0.tar.gz'));
  const hosts = options.hosts ?? ['offline-1', 'offline-2'];
  await writeFile(
    join(manifests, 'fleet.yaml'),
    [
      'apiVersion: ferry/v1',
      'kind: Package',
      'metadata: {name: hello}',
      'spec:',
      '  version: "1.0.0"',
      `  artifact: {sha256: ${artifact.sha256}, size: ${artifact.size}, source: artifacts/hello-1.0.0.tar.gz}`,
      '  install: {command: [sh, install.sh]}',
      '  detect: {command: [sh, detect.sh]}',
      '---',
      'apiVersion: ferry/v1',
      'kind: Schedule',
      'metadata: {name: later}',
      'spec:',
      '  timezone: UTC',
      '  windows:',
      '    - {start: "2099-01-01T00:00:00", duration: 1h}',
      ...hosts.flatMap((h) => ['---', 'apiVersion: ferry/v1', 'kind: Host', `metadata: {name: ${h}}`, 'spec: {labels: {site: ship}}']),
      '---',
      'apiVersion: ferry/v1',
      'kind: Group',
      'metadata: {name: ship}',
      `spec: {hosts: [${hosts.join(', ')}]}`,
      '---',
      'apiVersion: ferry/v1',
      'kind: Deployment',
      'metadata: {name: hello-1}',
      'spec:',
      '  packages: [{name: hello, version: "1.0.0", state: present}]',
      '  targets: {groups: [ship]}',
      '  install: {window: later}',
      '',
    ].join('\n'),
  );
  return { root, manifests, artifact: { sha256: artifact.sha256, size: artifact.size } };
}
