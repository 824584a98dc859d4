/**
 * The dashboard's Relays view in a real browser against a real API: each relay with the host it
 * runs on, last seen, hosts served, cache and hit ratio, bytes served vs fetched upstream, queued
 * reports — the figures a relay posted on its work poll (`POST /v1/hosts/{host}/relay-work`).
 */
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { systemClock } from '../../lib/clock.js';
import { RelayRegistry } from '../../controller/api/relay-registry.js';
import { startController, type TestController } from '../agent/runtime/fixture.js';
import { enroll } from '../agent/relay/upstream-proxy.js';
import { launchOrSkip, newPage, screenshot, signIn } from './browser.js';

describe('dashboard: Relays view, and power events on the host view', function () {
  this.timeout(60_000);
  let browser: Browser;
  let ctl: TestController;

  before(async function () {
    browser = await launchOrSkip(this);
    ctl = await startController({
      relays: [
        { name: 'osaka', host: 'relay-osaka', url: 'http://relay-osaka:8470', served: new Set(['osk-1', 'osk-2', 'osk-3']) },
        { name: 'kobe', host: 'relay-kobe', url: 'http://relay-kobe:8470', served: new Set(['kobe-1']) },
      ],
      relayRegistry: new RelayRegistry(systemClock),
    });
    const auth = await enroll(ctl, ctl.url, 'relay-osaka');
    const stats = {
      cacheBytes: 3 * 1024 ** 3,
      cacheMaxBytes: 50 * 1024 ** 3,
      hits: 90,
      misses: 4,
      coalesced: 6,
      bytesServed: 12 * 1024 ** 3,
      bytesFetched: 3 * 1024 ** 3,
      queued: 7,
    };
    const r = await fetch(`${ctl.url}/v1/hosts/relay-osaka/relay-work`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ stats }),
    });
    expect(r.status).to.equal(200);
  });
  after(async () => {
    await browser?.close();
    await ctl?.close();
  });

  it('lists each relay with its hosts and figures; a relay that never polled says so', async () => {
    const { page, errors } = await newPage(browser);
    try {
      await signIn(page, ctl.url, 'admin-token-for-agent-tests-0123456789');
      await page.getByRole('link', { name: 'Relays' }).click();
      await page.getByRole('heading', { level: 1, name: 'Relays' }).waitFor();
      const rows = await page
        .locator('.view-relays tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c, i) => (i === 2 ? (c.textContent ?? '').includes('never') : (c.textContent ?? '').trim()))),
        );
      expect(rows).to.deep.equal([
        ['kobe', 'relay-kobe', true, 'kobe-1', '–', '–', '–', '–'],
        ['osaka', 'relay-osaka', false, 'osk-1, osk-2, osk-3', '3.0 GiB of 50 GiB', '96%', '12 GiB / 3.0 GiB', '7'],
      ]);
      expect(await page.locator('[data-nav="relays"]').getAttribute('aria-current')).to.equal('page');
      await screenshot(page, 'test-output/dashboard-relays.png');
      expect(errors, errors.join('\n')).to.deep.equal([]);
    } finally {
      await page.context().close();
    }
  });

  it('the host view says when the host was woken and by whom, and that it shut down after install', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const woken = `woken at ${at}, by relay osaka (magic packet for 00:11:22:33:44:55 from Host manifest to 192.168.10.255:9)`;
    await enroll(ctl, ctl.url, 'osk-1');
    await ctl.store.ingestReports(
      'osk-1',
      [
        { id: 'w-1', actionId: 'wake', serial: 0, state: 'pending', at, reason: woken },
        { id: 's-1', actionId: 'shutdown', serial: 3, state: 'installed', at, reason: 'shut down after install (plan serial 3): systemctl poweroff' },
      ],
      new Date(),
    );
    const { page, errors } = await newPage(browser);
    try {
      await signIn(page, ctl.url, 'admin-token-for-agent-tests-0123456789');
      await page.goto(`${ctl.url}/#/hosts/osk-1`);
      await page.getByRole('heading', { level: 1, name: 'osk-1' }).waitFor();
      const power = await page.locator('[data-power]').evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-power'), (li.textContent ?? '').split(' · ')[0]]));
      expect(power).to.deep.equal([
        ['wake', woken],
        ['shutdown', 'shut down after install (plan serial 3): systemctl poweroff'],
      ]);
      expect(errors, errors.join('\n')).to.deep.equal([]);
    } finally {
      await page.context().close();
    }
  });
});
