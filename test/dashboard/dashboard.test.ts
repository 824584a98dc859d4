/**
 * The dashboard in a real browser against a real API and SQLite store: sign-in, live counts,
 * filters, a failing host's reason and output, suspend/resume, the source panel, the keyboard,
 * and 10,000 hosts. Screenshots go to test-output/dashboard-*.png.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { startHarness, type Harness } from '../controller/api/harness.js';
import { js, launchOrSkip, newPage, screenshot, signIn, until } from './browser.js';
import { actionId, enrollAll, minutesAgo, planAction, report, workstationFacts, type HostSpec } from './fleet.js';

const editor = actionId('editor-2-4', 'text-editor', '2.4.1');
const vpn = actionId('vpn-client-5', 'vpn-client', '5.0.2');
const failOutput = [
  '+ tar -xzf payload.tar.gz',
  '+ ./configure --prefix=/opt/editor',
  'checking for libfoo... no',
  'configure: error: libfoo >= 1.2 is required',
  'install.sh: exit 3',
].join('\n');

describe('dashboard in a browser', function () {
  this.timeout(60_000);
  let browser: Browser;
  let h: Harness;
  let creds: Map<string, string>;
  let page: Page;
  let errors: string[];

  before(async function () {
    browser = await launchOrSkip(this);
    h = await startHarness({
      desired: [
        { name: 'editor-2-4', suspended: false, packages: [{ name: 'text-editor', version: '2.4.1', state: 'present' }] },
        { name: 'vpn-client-5', suspended: false, packages: [{ name: 'vpn-client', version: '5.0.2', state: 'present' }] },
      ],
      groups: { sales: ['sales-01', 'sales-02', 'sales-03', 'sales-04'], lab: ['lab-01', 'lab-02', 'lab-03'] },
    });
    const hosts: HostSpec[] = ['sales-01', 'sales-02', 'sales-03', 'sales-04', 'lab-01', 'lab-02', 'lab-03', 'lab-04'].map((name, i) => ({
      name,
      facts: workstationFacts(name, i),
      labels: { dept: name.split('-')[0]! },
      software: [{ name: 'python3', version: '3.11.2', source: 'dpkg' }],
    }));
    creds = await enrollAll(h, hosts);
    // Status counts the actions of current plans: every host gets its plan first.
    const revision = 'main@sha1:5d1e0c3a9b7f2e4d6c8a0b1e3f5a7c9d1e2f3a4b';
    const both = [planAction('editor-2-4', 'text-editor', '2.4.1'), planAction('vpn-client-5', 'vpn-client', '5.0.2')];
    for (const host of ['sales-01', 'sales-03', 'lab-01', 'lab-02']) await h.seedPlan(host, revision, both);
    for (const host of ['sales-02', 'sales-04', 'lab-03']) await h.seedPlan(host, revision, both.slice(0, 1));
    // lab-04 has its plan and has not reported yet: pending.
    await h.seedPlan('lab-04', revision, both.slice(1));
    const r = (host: string, results: Parameters<typeof report>[3]) => report(h, host, creds.get(host)!, results);
    await r('sales-01', [
      { actionId: editor, state: 'installed', at: minutesAgo(9) },
      { actionId: vpn, state: 'installed', at: minutesAgo(8) },
    ]);
    await r('sales-02', [{ actionId: editor, state: 'downloading', bytesDone: 12 * 1024 * 1024, at: minutesAgo(2) }]);
    await r('sales-03', [
      { actionId: editor, state: 'failed', exitCode: 3, reason: 'install.sh exited 3: libfoo >= 1.2 is required', output: failOutput, at: minutesAgo(4) },
      { actionId: vpn, state: 'installed', at: minutesAgo(7) },
    ]);
    await r('sales-04', [{ actionId: editor, state: 'pending', at: minutesAgo(1) }]);
    await r('lab-01', [{ actionId: editor, state: 'not-applicable', reason: 'enough-disk: disk free 1.2 GiB < 2 GiB', at: minutesAgo(6) }]);
    await r('lab-02', [{ actionId: editor, state: 'pending', at: minutesAgo(1) }]);
    await r('lab-03', [{ actionId: editor, state: 'waiting', reason: 'install window lunch opens 12:00', at: minutesAgo(3) }]);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });
  beforeEach(async () => {
    ({ page, errors } = await newPage(browser));
  });
  afterEach(async () => {
    await page?.context().close();
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });

  const count = (deployment: string, state: string) => page.locator(`[data-deployment="${deployment}"] [data-count="${state}"]`).textContent({ timeout: 10_000 });

  it('asks for the admin token, explains a refused one, and signs in', async () => {
    await page.goto(h.url);
    expect(await page.title()).to.equal('Sign in · Ferry');
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: '401' }).waitFor();
    expect(await alert.textContent()).to.contain('refused this token (401)');
    await screenshot(page, 'test-output/dashboard-signin.png');

    await page.getByLabel('Admin token').fill(h.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
    expect(await js(page, `sessionStorage.getItem('ferry.adminToken')`)).to.equal(h.adminToken);
    expect(await count('editor-2-4', 'failed')).to.equal('1');
    expect(await count('editor-2-4', 'installed')).to.equal('1');
    expect(await page.getByRole('progressbar', { name: 'editor-2-4 progress' }).getAttribute('aria-valuetext')).to.equal('2 of 7 settled (29%), 1 failed, 1 in progress');

    // A reload keeps the session (sessionStorage); signing out forgets it.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await js(page, `sessionStorage.getItem('ferry.adminToken')`)).to.equal(null);
  });

  it('updates the counts as reports arrive, without a reload, keeping focus', async () => {
    await signIn(page, h.url, h.adminToken);
    await js(page, 'window.notReloaded = true');
    expect(await count('vpn-client-5', 'installed')).to.equal('2');
    const link = page.locator('.deployments-table').getByRole('link', { name: 'vpn-client-5' });
    await link.focus();

    await report(h, 'lab-01', creds.get('lab-01')!, [{ actionId: vpn, state: 'downloading', bytesDone: 1024 }]);
    await report(h, 'lab-02', creds.get('lab-02')!, [{ actionId: vpn, state: 'installed' }]);
    await until(page, `document.querySelector('[data-deployment="vpn-client-5"] [data-count="installed"]')?.textContent === '3'`);
    expect(await count('vpn-client-5', 'downloading')).to.equal('1');
    await report(h, 'lab-01', creds.get('lab-01')!, [{ actionId: vpn, state: 'installed' }]);
    await until(page, `document.querySelector('[data-deployment="vpn-client-5"] [data-count="installed"]')?.textContent === '4'`);
    await until(page, `!document.querySelector('[data-deployment="vpn-client-5"] [data-count="downloading"]')`);

    expect(await js(page, 'window.notReloaded')).to.equal(true);
    expect(await js(page, 'document.activeElement?.textContent')).to.equal('vpn-client-5');
    await screenshot(page, 'test-output/dashboard-deployments.png');
  });

  it('filters a deployment by state and group, opens a failing host, and reads its reason and output', async () => {
    await signIn(page, h.url, h.adminToken);
    await page.locator('.deployments-table').getByRole('link', { name: 'editor-2-4' }).click();
    await page.getByRole('heading', { level: 1, name: /editor-2-4/ }).waitFor();
    const rows = page.locator('tbody tr[data-host]');
    expect(await rows.count()).to.equal(7);
    expect(await page.locator('[data-host="lab-01"]').textContent()).to.contain('enough-disk: disk free 1.2 GiB < 2 GiB');

    await page.getByLabel('State', { exact: true }).selectOption('failed');
    await until(page, `document.querySelectorAll('tbody tr[data-host]').length === 1`);
    expect(await js(page, 'location.hash')).to.equal('#/deployments/editor-2-4?state=failed');
    expect(await rows.first().getAttribute('data-host')).to.equal('sales-03');
    await page.getByLabel('Group', { exact: true }).selectOption('lab');
    await page.getByText('No host matches these filters.').waitFor();
    await page.getByLabel('Group', { exact: true }).selectOption('sales');
    await until(page, `document.querySelectorAll('tbody tr[data-host]').length === 1`);
    await page.getByLabel('State', { exact: true }).selectOption('');
    await until(page, `document.querySelectorAll('tbody tr[data-host]').length === 4`);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { getAttribute(n: string): string | null }).getAttribute('data-host')))).to.deep.equal([
      'sales-01',
      'sales-02',
      'sales-03',
      'sales-04',
    ]);
    await screenshot(page, 'test-output/dashboard-deployment.png');

    await page.getByRole('link', { name: 'sales-03' }).click();
    await page.getByRole('heading', { level: 1, name: 'sales-03' }).waitFor();
    const state = page.locator('tr[data-action="editor-2-4/text-editor@2.4.1/install"]');
    expect(await state.textContent()).to.contain('install.sh exited 3: libfoo >= 1.2 is required');
    const output = state.getByLabel('Installer output of text-editor');
    expect(await output.isVisible()).to.equal(false);
    await state.getByText('Installer output').click();
    expect(await output.textContent()).to.equal(failOutput);
    // The open <details> stays open across refreshes.
    await page.waitForTimeout(2_500);
    expect(await output.isVisible()).to.equal(true);
    const body = await page.locator('main').textContent();
    for (const text of ['Debian GNU/Linux 12', 'sales', 'dept=sales', 'main@sha1:5d1e0c3a9b7f', 'vpn-client', 'History']) expect(body).to.contain(text);
    await screenshot(page, 'test-output/dashboard-host.png');
  });

  it('suspends and resumes a deployment with its buttons', async () => {
    await signIn(page, h.url, h.adminToken);
    await page.goto(`${h.url}/#/deployments/vpn-client-5`);
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await page.getByRole('heading', { level: 1, name: /Suspended by operator/ }).waitFor();
    // A targeted host that has not reported yet is listed, pending, never reported.
    const silent = page.locator('tbody tr[data-host="lab-04"]');
    expect(await silent.locator('[data-state]').first().getAttribute('data-state')).to.equal('pending');
    expect(await silent.textContent()).to.contain('never');
    expect((await h.store.listOverrides()).map((o) => [o.deployment, o.suspended, o.by])).to.deep.equal([['vpn-client-5', true, 'dashboard']]);
    expect(await page.locator('#connection').textContent()).to.contain('vpn-client-5 suspended');
    await screenshot(page, 'test-output/dashboard-suspended.png');

    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Suspend' }).waitFor();
    expect((await h.store.listOverrides()).map((o) => [o.deployment, o.suspended, o.by])).to.deep.equal([['vpn-client-5', false, 'dashboard']]);
    await h.store.clearOverride('vpn-client-5');
  });

  it('shows the source panel: revision in force, and a rejected revision with FILE:LINE:COL errors', async () => {
    await h.store.recordSourceAttempt({ revision: 'main@sha1:1111111111111111111111111111111111111111', ok: true, at: minutesAgo(30) });
    await signIn(page, h.url, h.adminToken);
    await page.locator('#source').getByText('in force').waitFor();
    await h.store.recordSourceAttempt({
      revision: 'main@sha1:bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0',
      ok: false,
      problems: [
        { file: 'deployments/editor.yaml', line: 12, col: 7, severity: 'error', message: 'package text-editor has no version 2.5.0 (known: 2.4.1)' },
        { file: 'groups.yaml', line: 3, col: 14, severity: 'error', message: 'group sales includes itself through project-a' },
      ],
      at: new Date(),
    });
    const panel = page.locator('#source');
    await panel.getByText('deployments/editor.yaml:12:7').waitFor();
    const text = await panel.textContent();
    expect(text).to.contain('deployments/editor.yaml:12:7: error: package text-editor has no version 2.5.0 (known: 2.4.1)');
    expect(text).to.contain('groups.yaml:3:14: error: group sales includes itself through project-a');
    expect(text).to.contain('main@sha1:111111111111');
    expect(text).to.contain('rejected');
    // The panel is on every page.
    await page.goto(`${h.url}/#/hosts/lab-02`);
    await page.getByRole('heading', { level: 1, name: 'lab-02' }).waitFor();
    expect(await page.locator('#source').textContent()).to.contain('groups.yaml:3:14');
    await screenshot(page, 'test-output/dashboard-rejected.png');
    await h.store.recordSourceAttempt({ revision: 'main@sha1:2222222222222222222222222222222222222222', ok: true, at: new Date() });
    await until(page, `!document.querySelector('#source .rejected')`);
  });

  it('works with the keyboard alone: sign in, open a deployment, suspend and resume it', async () => {
    await page.goto(h.url);
    const active = () =>
      js<{ id: string; text: string; outline: string }>(
        page,
        `({ id: document.activeElement?.id ?? '', text: document.activeElement?.textContent?.trim() ?? '', outline: getComputedStyle(document.activeElement).outlineStyle })`,
      );
    const tabTo = async (match: (a: { id: string; text: string }) => boolean, what: string) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        if (match(await active())) return;
      }
      throw new Error(`Tab never reached ${what}`);
    };
    await tabTo((a) => a.id === 'token', 'the token field');
    await page.keyboard.type(h.adminToken);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();

    await tabTo((a) => a.text === 'vpn-client-5', 'the vpn-client-5 link');
    expect((await active()).outline).to.not.equal('none');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /vpn-client-5/ }).waitFor();
    expect(await js(page, 'document.activeElement?.tagName')).to.equal('H1');

    await tabTo((a) => a.id === 'toggle-suspend', 'the Suspend button');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect((await h.store.listOverrides()).map((o) => [o.deployment, o.suspended])).to.deep.equal([['vpn-client-5', true]]);
    expect((await active()).id).to.equal('toggle-suspend');
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Suspend' }).waitFor();
    expect((await h.store.listOverrides()).map((o) => [o.deployment, o.suspended])).to.deep.equal([['vpn-client-5', false]]);

    // The state filter is a labelled select, operable by keys.
    await tabTo((a) => a.id === 'filter-state', 'the State filter');
    await page.keyboard.press('End');
    await until(page, `location.hash.includes('state=installed')`);
    await h.store.clearOverride('vpn-client-5');
  });
});

describe('dashboard with 10,000 hosts', function () {
  this.timeout(60_000);
  let browser: Browser;
  let h: Harness;

  before(async function () {
    browser = await launchOrSkip(this);
    h = await startHarness({ desired: [{ name: 'office-suite', suspended: false, packages: [{ name: 'office', version: '7.6.4', state: 'present' }] }] });
    const now = new Date();
    // `undefined`: the host has its plan and has not reported (pending).
    const states = ['installed', 'installed', 'installed', 'installed', 'downloading', undefined, 'failed', 'not-applicable'] as const;
    const office = planAction('office-suite', 'office', '7.6.4');
    const names = Array.from({ length: 10_000 }, (_, i) => `ws-${String(i).padStart(5, '0')}`);
    await h.store.savePlans(
      names.map((host) => ({ host, hash: 'office', body: { host, sources: [], actions: [office] }, revision: 'main@sha1:1' })),
      now,
    );
    for (let i = 0; i < 10_000; i++) {
      const host = names[i]!;
      await h.store.enrollHost({ host, credentialHash: i.toString(16).padStart(64, '0'), facts: {}, labels: {}, now });
      const state = states[i % states.length];
      if (state === undefined) continue;
      await h.store.ingestReports(
        host,
        [
          {
            id: `r${i}`,
            actionId: actionId('office-suite', 'office', '7.6.4'),
            serial: 1,
            state,
            at: now.toISOString(),
            ...(state === 'failed' && { reason: 'installer exited 1', exitCode: 1 }),
          },
        ],
        now,
      );
    }
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('renders one page of hosts at a time and pages through them', async () => {
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, h.adminToken);
    expect(await page.locator('[data-deployment="office-suite"] [data-count="installed"]').textContent()).to.equal('5,000');
    expect(await page.locator('[data-deployment="office-suite"] [data-count="pending"]').textContent()).to.equal('1,250');
    const started = Date.now();
    await page.locator('.deployments-table').getByRole('link', { name: 'office-suite' }).click();
    await page.locator('tbody tr[data-host]').first().waitFor();
    expect(Date.now() - started).to.be.below(3_000);
    expect(await page.locator('tbody tr[data-host]').count()).to.equal(50);
    const info = page.locator('.page-info');
    expect(await info.textContent()).to.equal('1–50 of 10,000 hosts · page 1 of 200');
    await page.getByRole('link', { name: 'Next page' }).click();
    await until(page, `document.querySelector('.page-info')?.textContent?.startsWith('51–100')`);
    expect(await page.locator('tbody tr[data-host]').first().getAttribute('data-host')).to.equal('ws-00050');
    await page.getByRole('link', { name: /Last page/ }).click();
    await until(page, `document.querySelector('.page-info')?.textContent === '9,951–10,000 of 10,000 hosts · page 200 of 200'`);
    await page.getByLabel('State', { exact: true }).selectOption('failed');
    await until(page, `document.querySelector('.page-info')?.textContent === '1–50 of 1,250 hosts · page 1 of 25'`);
    expect(await page.locator('tbody tr[data-host]').count()).to.equal(50);
    expect(await js<number>(page, `document.querySelectorAll('tr').length`)).to.be.below(60);
    await screenshot(page, 'test-output/dashboard-10000-hosts.png', false);
    await page.context().close();
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });
});
