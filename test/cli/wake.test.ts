/** `ferry wake` as a real process against a real controller whose --wake-broadcast is a loopback UDP listener. */
import { expect } from 'chai';
import { runFerry } from '../support/ferry.js';
import { packetFor, startWakeFleet, type WakeFleet } from '../controller/wake/wake-fleet.js';

describe('ferry wake', function () {
  this.timeout(60_000);
  let fleet: WakeFleet;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    fleet = await startWakeFleet();
    env = { FERRY_SERVER: fleet.controller.url, FERRY_TOKEN: fleet.adminToken };
  });
  after(async () => {
    await fleet.close();
  });

  it('wakes a host: the exact 102 bytes reach the broadcast address, the line says when and by whom', async () => {
    const r = await runFerry(['wake', 'web1'], { env });
    expect(r.code, r.stderr).to.equal(0);
    const [packet] = await fleet.listener.next(1);
    expect(packet!.length).to.equal(102);
    expect(packet!.toString('hex')).to.equal(packetFor('001122334455'));
    expect(r.stdout).to.match(
      new RegExp(
        `^web1: woken at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, by controller \\(magic packet for 00:11:22:33:44:55 from Host manifest to 127\\.0\\.0\\.1:${fleet.listener.port}\\)\\n$`,
      ),
    );
  });

  it('says how to fix a host without a MAC, and exits 1', async () => {
    const r = await runFerry(['wake', 'web3'], { env });
    expect([r.code, r.stdout, r.stderr.trim()]).to.deep.equal([
      1,
      '',
      'ferry: POST /v1/hosts/web3/wake failed (409 no-mac): no MAC address known for host web3: its agent reported none; add `mac: "aa:bb:cc:dd:ee:ff"` to the spec of a Host manifest named web3 (kind: Host) and commit it',
    ]);
  });

  it('--group wakes each member, exits 1 when one could not be woken', async () => {
    const before = fleet.listener.received.length;
    const r = await runFerry(['wake', '--group', 'lab', '--json'], { env });
    expect(r.code, r.stderr).to.equal(1);
    const reply = JSON.parse(r.stdout) as { group: string; results: { host: string; ok: boolean }[] };
    expect(reply.results.map((x) => [x.host, x.ok])).to.deep.equal([
      ['web1', true],
      ['web2', true],
      ['web3', false],
    ]);
    const packets = (await fleet.listener.next(before + 2)).slice(before).map((p) => p.toString('hex'));
    expect(packets).to.deep.equal([packetFor('001122334455'), packetFor('0a1b2c3d4e5f')]);
  });

  it('ferry controller refuses a --wake-broadcast that is not ADDR[:PORT] (exit 2)', async () => {
    const r = await runFerry(['controller', '--wake-broadcast', 'lan.example:9']);
    expect([r.code, r.stderr.trim()]).to.deep.equal([
      2,
      'ferry: --wake-broadcast lan.example:9: expected ADDR[:PORT] with an IP address, e.g. 255.255.255.255:9 or 192.168.1.255:9',
    ]);
  });

  it('wants a host or a group', async () => {
    const r = await runFerry(['wake'], { env });
    expect([r.code, r.stderr.trim()]).to.deep.equal([2, 'ferry: give a HOST or --group G (one of them)']);
  });
});
