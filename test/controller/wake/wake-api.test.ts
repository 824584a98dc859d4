/** POST /v1/hosts/{host}/wake and /v1/groups/{name}/wake on a real controller, packets captured on loopback. */
import { expect } from 'chai';
import { packetFor, startWakeFleet, type WakeFleet } from './wake-fleet.js';

describe('wake: the API on a real controller', function () {
  this.timeout(60_000);
  let fleet: WakeFleet;
  before(async () => {
    fleet = await startWakeFleet();
  });
  after(async () => {
    await fleet.close();
  });

  it('wakes a host by the MAC of its Host manifest, records it in host history', async () => {
    const before = fleet.listener.received.length;
    const r = await fleet.call('POST', '/v1/hosts/web1/wake');
    expect(r.status).to.equal(200);
    const to = `127.0.0.1:${fleet.listener.port}`;
    const message = `woken at ${r.body.at}, by controller (magic packet for 00:11:22:33:44:55 from Host manifest to ${to})`;
    expect(r.body).to.deep.equal({ host: 'web1', ok: true, mac: '00:11:22:33:44:55', macFrom: 'Host manifest', by: 'controller', to, at: r.body.at, message });
    const packets = await fleet.listener.next(before + 1);
    expect(packets[before]!.toString('hex')).to.equal(packetFor('001122334455'));
    const host = await fleet.call('GET', '/v1/hosts/web1?history=5');
    const wakes = (host.body.history as { actionId: string; state: string; reason: string }[]).filter((h) => h.actionId === 'wake');
    expect(wakes.map((h) => [h.state, h.reason])).to.deep.equal([['pending', message]]);
  });

  it('falls back to the MAC the agent reported', async () => {
    const before = fleet.listener.received.length;
    const r = await fleet.call('POST', '/v1/hosts/web2/wake');
    expect([r.status, r.body.mac, r.body.macFrom]).to.deep.equal([200, '0a:1b:2c:3d:4e:5f', 'inventory (eth0)']);
    const packets = await fleet.listener.next(before + 1);
    expect(packets[before]!.toString('hex')).to.equal(packetFor('0a1b2c3d4e5f'));
  });

  it('refuses, with what to do: unknown host, no MAC, invalid MAC in git; nothing is sent', async () => {
    const before = fleet.listener.received.length;
    const replies = await Promise.all(['nohost', 'web3', 'zero'].map((h) => fleet.call('POST', `/v1/hosts/${h}/wake`)));
    expect(replies).to.deep.equal([
      { status: 404, body: { error: { code: 'not-found', message: 'no host nohost has enrolled' } } },
      {
        status: 409,
        body: {
          error: {
            code: 'no-mac',
            message:
              'no MAC address known for host web3: its agent reported none; add `mac: "aa:bb:cc:dd:ee:ff"` to the spec of a Host manifest named web3 (kind: Host) and commit it',
          },
        },
      },
      {
        status: 409,
        body: {
          error: { code: 'invalid-mac', message: "host zero: spec.mac of its Host manifest: 00:00:00:00:00:00 is the all-zero address, not a network card's; fix it in git" },
        },
      },
    ]);
    // A wake that is sent after the refusals is the next datagram: the refusals sent none.
    await fleet.call('POST', '/v1/hosts/web1/wake');
    const packets = await fleet.listener.next(before + 1);
    expect(packets.length).to.equal(before + 1);
    expect(packets[before]!.toString('hex')).to.equal(packetFor('001122334455'));
  });

  it('wakes a group host by host, saying which could not be woken', async () => {
    const r = await fleet.call('POST', '/v1/groups/lab/wake');
    expect(r.status).to.equal(200);
    expect(r.body.results.map((x: { host: string; ok: boolean; mac?: string; error?: string }) => [x.host, x.ok, x.mac ?? x.error])).to.deep.equal([
      ['web1', true, '00:11:22:33:44:55'],
      ['web2', true, '0a:1b:2c:3d:4e:5f'],
      ['web3', false, 'no-mac'],
    ]);
    expect((await fleet.call('POST', '/v1/groups/nogroup/wake')).status).to.equal(404);
  });

  it('is for the admin only', async () => {
    const res = await fetch(`${fleet.controller.url}/v1/hosts/web1/wake`, { method: 'POST' });
    expect(res.status).to.equal(401);
  });
});
