/**
 * The README's screenshots from a realistic fleet: `FERRY_SCREENSHOTS=docs npx mocha test/dashboard/screenshots.test.ts`
 * writes docs/dashboard-deployments.png and docs/dashboard-host.png. Without the variable it
 * renders the same pages into test-output/, so the fleet below stays a working example.
 */
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { startHarness, type Harness } from '../controller/api/harness.js';
import type { PlanAction } from '../../core/plan/types.js';
import { launchOrSkip, newPage, screenshot, signIn, until } from './browser.js';
import { actionId, enrollAll, minutesAgo, planAction, report, workstationFacts, type HostSpec, type ReportSpec } from './fleet.js';

const toDocs = process.env['FERRY_SCREENSHOTS'] === 'docs';
const out = (name: string) => (toDocs ? `docs/dashboard-${name}.png` : `test-output/dashboard-example-${name}.png`);

const gib = 1024 ** 3;
const offices = [
  { site: 'tokyo', dept: 'sales', n: 28 },
  { site: 'tokyo', dept: 'eng', n: 24 },
  { site: 'osaka', dept: 'sales', n: 18 },
  { site: 'osaka', dept: 'support', n: 14 },
  { site: 'lab', dept: 'eng', n: 8 },
];

const deployments = [
  { name: 'editor-2-4', pkg: 'text-editor', version: '2.4.1', state: 'present' as const, suspended: false },
  { name: 'vpn-client-5', pkg: 'vpn-client', version: '5.0.2', state: 'present' as const, suspended: false },
  { name: 'python-runtime-3-12', pkg: 'python-runtime', version: '3.12.4', state: 'present' as const, suspended: false },
  { name: 'legacy-editor-removal', pkg: 'legacy-editor', version: '1.9.0', state: 'absent' as const, suspended: false },
  { name: 'browser-esr-128', pkg: 'browser-esr', version: '128.3.0', state: 'present' as const, suspended: true },
];

const failOutput = [
  '+ tar -xzf text-editor-2.4.1.tar.gz -C /opt/editor',
  '+ /opt/editor/bin/postinstall --register-mime',
  'postinstall: updating desktop database',
  'postinstall: registering 14 MIME types',
  'error: /usr/share/applications is read-only (EROFS)',
  'install.sh: postinstall failed, rolling back',
  '+ rm -rf /opt/editor',
  'install.sh: exit 4',
].join('\n');

describe('dashboard screenshots for the README', function () {
  this.timeout(60_000);
  let browser: Browser;
  let h: Harness;
  const hosts: HostSpec[] = [];

  before(async function () {
    browser = await launchOrSkip(this);
    let i = 0;
    for (const o of offices) {
      for (let k = 1; k <= o.n; k++, i++) {
        const name = `${o.site}-${o.dept}-${String(k).padStart(2, '0')}`;
        const facts = workstationFacts(name, i, o.site === 'lab' && k === 3 ? { disk: { installRoot: { free: 1.2 * gib, total: 64 * gib } } } : {});
        hosts.push({
          name,
          facts,
          labels: { dept: o.dept, site: o.site },
          software: [
            { name: 'python3', version: '3.11.2', source: 'dpkg' },
            { name: 'openssl', version: '3.0.14', source: 'dpkg' },
            { name: 'python-runtime', version: '3.12.4', source: 'ferry' },
            { name: 'vpn-client', version: '4.8.0', source: 'dpkg' },
          ],
        });
      }
    }
    const groups: Record<string, string[]> = {};
    for (const host of hosts) {
      const [site, dept] = host.name.split('-') as [string, string];
      (groups[site] ??= []).push(host.name);
      (groups[dept] ??= []).push(host.name);
    }
    groups['project-a'] = hosts.filter((x) => /^(tokyo-sales-0[1-5]|osaka-sales-0[1-3])$/.test(x.name)).map((x) => x.name);
    h = await startHarness({
      desired: deployments.map((d) => ({ name: d.name, suspended: d.suspended, packages: [{ name: d.pkg, version: d.version, state: d.state }] })),
      groups,
      enrollRateLimit: { perMinute: 10_000, burst: 10_000 },
    });
    const creds = await enrollAll(h, hosts);
    await h.store.recordSourceAttempt({ revision: 'main@sha1:8c41f0e2b7d94a6c3e15f7a9d0b2c4e6f8a1b3d5', ok: true, at: minutesAgo(14) });
    await h.store.setSuspended('legacy-editor-removal', true, 'alice', minutesAgo(6));

    const id = (d: (typeof deployments)[number]) => actionId(d.name, d.pkg, d.version, d.state === 'absent' ? 'uninstall' : 'install');
    const [editor, vpn, python, legacy, browserEsr] = deployments as unknown as [(typeof deployments)[number], ...(typeof deployments)[number][]];
    for (const [i, host] of hosts.entries()) {
      const results: (ReportSpec & { actionId: string })[] = [];
      const dept = host.labels!['dept'];
      const minute = (n: number) => minutesAgo(n + (i % 7));
      results.push({ actionId: id(python), state: 'installed', at: minute(40) });
      if (dept === 'sales' || dept === 'eng') {
        const r = i % 23;
        if (host.name === 'lab-eng-03') results.push({ actionId: id(editor), state: 'not-applicable', reason: 'enough-disk: disk free 1.2 GiB < 2 GiB', at: minute(20) });
        else if (r === 4 || r === 15)
          results.push({ actionId: id(editor), state: 'failed', exitCode: 4, reason: 'install.sh exited 4: postinstall failed', output: failOutput, at: minute(9) });
        else if (r === 7 || r === 11) results.push({ actionId: id(editor), state: 'downloading', bytesDone: (20 + r) * 1024 * 1024, at: minute(1) });
        else if (r === 9) results.push({ actionId: id(editor), state: 'installing', at: minute(0) });
        else if (r === 2) results.push({ actionId: id(editor), state: 'waiting', reason: 'install window lunch opens at 12:00', at: minute(3) });
        else if (dept === 'eng' && host.facts?.arch === 'arm64')
          results.push({ actionId: id(editor), state: 'not-applicable', reason: 'desktop-x64: arch arm64 is not one of x64', at: minute(22) });
        else results.push({ actionId: id(editor), state: 'installed', at: minute(15) });
      }
      const v = i % 9;
      results.push({
        actionId: id(vpn),
        ...(v < 3
          ? { state: 'installed' as const, at: minute(5) }
          : v < 5
            ? { state: 'downloading' as const, bytesDone: v * 3_100_000, at: minute(0) }
            : { state: 'waiting' as const, reason: 'transfer window nightly opens at 22:00', at: minute(2) }),
      });
      if (dept === 'support')
        results.push({ actionId: id(legacy), ...(i % 3 === 0 ? { state: 'suspended' as const, at: minute(4) } : { state: 'uninstalled' as const, at: minute(12) }) });
      if (dept === 'eng') results.push({ actionId: id(browserEsr), state: 'suspended', reason: 'deployment suspended in git', at: minute(25) });
      // Status counts the actions of current plans: the host's plan holds what it reports on.
      const planned = [...new Set(results.map((r) => r.actionId))].map((actionId) => {
        const [deployment, rest, op] = actionId.split('/') as [string, string, 'install' | 'uninstall'];
        const [pkg, version] = rest.split('@') as [string, string];
        return planAction(deployment, pkg, version, { op });
      });
      await h.seedPlan(host.name, 'main@sha1:8c41f0e2b7d94a6c3e15f7a9d0b2c4e6f8a1b3d5', planned);
      await report(h, host.name, creds.get(host.name)!, results);
    }

    // The host shown in the second screenshot: a plan with conditions and windows, and a history.
    const star = 'tokyo-sales-05';
    const day = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
    const actions: PlanAction[] = [
      planAction('python-runtime-3-12', 'python-runtime', '3.12.4'),
      planAction('editor-2-4', 'text-editor', '2.4.1', {
        blockedBy: [actionId('python-runtime-3-12', 'python-runtime', '3.12.4')],
        conditions: [
          { name: 'enough-disk', verdict: 'holds', spec: { minDiskFree: 2 * gib } },
          { name: 'desktop-x64', verdict: 'holds', spec: { arch: ['x64'] } },
        ],
        installWindows: [{ start: day(-1), end: day(2) }],
      }),
      planAction('vpn-client-5', 'vpn-client', '5.0.2', {
        conditions: [{ name: 'license-server', verdict: 'unknown', reason: 'runs /usr/local/bin/license-check on the host', spec: {} }],
        distribute: { multicast: false, wake: true, segmentSize: 4 * 1024 * 1024, segmentPauseMs: 2000, windows: [{ start: day(5), end: day(11) }] },
      }),
    ];
    await h.seedPlan(star, 'main@sha1:8c41f0e2b7d94a6c3e15f7a9d0b2c4e6f8a1b3d5', actions);
    const c = creds.get(star)!;
    const e = actionId('editor-2-4', 'text-editor', '2.4.1');
    await report(h, star, c, [
      { actionId: e, state: 'pending', at: minutesAgo(31) },
      { actionId: e, state: 'downloading', bytesDone: 0, at: minutesAgo(30) },
      { actionId: e, state: 'downloaded', at: minutesAgo(27) },
      { actionId: e, state: 'installing', at: minutesAgo(12) },
      { actionId: e, state: 'failed', exitCode: 4, reason: 'install.sh exited 4: postinstall failed', output: failOutput, at: minutesAgo(11) },
      { actionId: actionId('vpn-client-5', 'vpn-client', '5.0.2'), state: 'waiting', reason: 'transfer window nightly opens at 22:00', at: minutesAgo(10) },
    ]);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('captures the deployments overview and a host page', async () => {
    const { page, errors } = await newPage(browser, { width: 1280, height: 840 });
    await signIn(page, h.url, h.adminToken);
    await page.locator('[data-deployment="legacy-editor-removal"]').getByText('Suspended by operator').waitFor();
    await page.mouse.move(0, 0);
    await screenshot(page, out('deployments'), false);

    await page.goto(`${h.url}/#/hosts/tokyo-sales-05`);
    await page.getByRole('heading', { level: 1, name: 'tokyo-sales-05' }).waitFor();
    await page.locator('tr[data-action="editor-2-4/text-editor@2.4.1/install"]').getByText('Installer output').click();
    await until(page, `document.querySelector('details.output')?.open === true`);
    await screenshot(page, out('host'), true);
    await page.context().close();
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });
});
