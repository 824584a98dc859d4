/** MAC parsing, the magic packet, the broadcast flag, and the UDP sender against a real listener. */
import { expect } from 'chai';
import { parseBroadcastAddress } from '../../../lib/wake/broadcast-address.js';
import { magicPacket } from '../../../lib/wake/magic-packet.js';
import { parseMac, type MacParse } from '../../../lib/wake/mac.js';
import { UdpWakeSender } from '../../../lib/wake/udp-wake-sender.js';
import { listenUdp } from './udp-listener.js';

const ok = (text: string, hex: string): MacParse => ({ mac: { bytes: Buffer.from(hex, 'hex'), text } });
const formats = 'write it as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff';

describe('wake: MAC addresses', () => {
  const cases: { name: string; input: string; want: MacParse }[] = [
    { name: 'colons', input: '00:11:22:33:44:55', want: ok('00:11:22:33:44:55', '001122334455') },
    { name: 'colons, upper case, spaces around', input: ' 0A:1B:2C:3D:4E:5F ', want: ok('0a:1b:2c:3d:4e:5f', '0a1b2c3d4e5f') },
    { name: 'dashes', input: '0a-1b-2c-3d-4e-5f', want: ok('0a:1b:2c:3d:4e:5f', '0a1b2c3d4e5f') },
    { name: 'Cisco dots', input: '0a1b.2c3d.4e5f', want: ok('0a:1b:2c:3d:4e:5f', '0a1b2c3d4e5f') },
    { name: 'bare hex', input: '0a1b2c3d4e5f', want: ok('0a:1b:2c:3d:4e:5f', '0a1b2c3d4e5f') },
    { name: 'five bytes', input: '00:11:22:33:44', want: { error: `"00:11:22:33:44" is not a MAC address (${formats})` } },
    { name: 'seven bytes', input: '00:11:22:33:44:55:66', want: { error: `"00:11:22:33:44:55:66" is not a MAC address (${formats})` } },
    { name: 'mixed separators', input: '00:11-22:33:44:55', want: { error: `"00:11-22:33:44:55" is not a MAC address (${formats})` } },
    { name: 'not hex', input: '00:11:22:33:44:gg', want: { error: `"00:11:22:33:44:gg" is not a MAC address (${formats})` } },
    { name: 'single-digit bytes', input: '0:11:22:33:44:55', want: { error: `"0:11:22:33:44:55" is not a MAC address (${formats})` } },
    { name: 'empty', input: '', want: { error: `"" is not a MAC address (${formats})` } },
    { name: 'all zero', input: '00-00-00-00-00-00', want: { error: "00:00:00:00:00:00 is the all-zero address, not a network card's" } },
    { name: 'broadcast', input: 'FFFFFFFFFFFF', want: { error: "ff:ff:ff:ff:ff:ff is the broadcast address, not a network card's" } },
    { name: 'multicast bit', input: '01:00:5e:00:00:fb', want: { error: "01:00:5e:00:00:fb is a multicast (group) address, not a network card's" } },
  ];
  for (const c of cases) it(c.name, () => expect(parseMac(c.input)).to.deep.equal(c.want));
});

describe('wake: --wake-broadcast', () => {
  const error = (text: string) => ({ error: `--wake-broadcast ${text}: expected ADDR[:PORT] with an IP address, e.g. 255.255.255.255:9 or 192.168.1.255:9` });
  const cases = [
    { input: '255.255.255.255:9', want: { target: { address: '255.255.255.255', port: 9 } } },
    { input: '192.168.1.255', want: { target: { address: '192.168.1.255', port: 9 } } },
    { input: '127.0.0.1:40000', want: { target: { address: '127.0.0.1', port: 40000 } } },
    { input: '[ff02::1]:7', want: { target: { address: 'ff02::1', port: 7 } } },
    { input: 'lan.example:9', want: error('lan.example:9') },
    { input: '10.0.0.255:0', want: error('10.0.0.255:0') },
    { input: '10.0.0.255:70000', want: error('10.0.0.255:70000') },
    { input: '', want: error('') },
  ];
  for (const c of cases) it(JSON.stringify(c.input), () => expect(parseBroadcastAddress(c.input)).to.deep.equal(c.want));
});

describe('wake: the magic packet', () => {
  it('is 6 × 0xFF then the MAC 16 times, 102 bytes', () => {
    const parsed = parseMac('00:11:22:33:44:55');
    if (!('mac' in parsed)) throw new Error(parsed.error);
    const want = Buffer.from(`${'ff'.repeat(6)}${'001122334455'.repeat(16)}`, 'hex');
    expect(want.length).to.equal(102);
    expect(magicPacket(parsed.mac).equals(want)).to.equal(true);
  });

  it('goes over UDP to the broadcast address, exactly those bytes', async () => {
    const listener = await listenUdp();
    try {
      const parsed = parseMac('aa-bb-cc-dd-ee-01');
      if (!('mac' in parsed)) throw new Error(parsed.error);
      const sent = await new UdpWakeSender({ address: '127.0.0.1', port: listener.port }).send(parsed.mac);
      expect(sent).to.deep.equal({ by: 'controller', to: `127.0.0.1:${listener.port}` });
      const [packet] = await listener.next(1);
      expect(packet!.toString('hex')).to.equal(`${'ff'.repeat(6)}${'aabbccddee01'.repeat(16)}`);
    } finally {
      await listener.close();
    }
  });
});
