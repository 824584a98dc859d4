import { expect } from 'chai';
import { signWebhookBody, verifyWebhookSignature } from '../../../controller/source/webhook.js';

const secret = 'hunter2-but-longer';
const body = Buffer.from('{"ref":"refs/heads/main","after":"3f2a"}');
const good = signWebhookBody(secret, body);

describe('controller/source verifyWebhookSignature', () => {
  const cases: { name: string; secret?: string; body?: Buffer | string; header: string | string[] | undefined; ok: boolean }[] = [
    { name: 'a good signature', header: good, ok: true },
    { name: 'a good signature in upper-case hex', header: `sha256=${good.slice(7).toUpperCase()}`, ok: true },
    { name: 'the body as a string', body: body.toString('utf8'), header: good, ok: true },
    { name: 'a missing header', header: undefined, ok: false },
    { name: 'an empty header', header: '', ok: false },
    { name: 'a repeated header (array)', header: [good, good], ok: false },
    { name: 'another secret', secret: 'other', header: good, ok: false },
    { name: 'another body', body: Buffer.from('{"ref":"refs/heads/evil"}'), header: good, ok: false },
    { name: 'sha1 (X-Hub-Signature)', header: `sha1=${'0'.repeat(40)}`, ok: false },
    { name: 'a truncated digest', header: good.slice(0, -2), ok: false },
    { name: 'not hex', header: `sha256=${'z'.repeat(64)}`, ok: false },
    { name: 'no prefix', header: good.slice(7), ok: false },
    { name: 'an empty secret never verifies', secret: '', header: signWebhookBody('', body), ok: false },
  ];
  for (const c of cases) {
    it(`${c.ok ? 'accepts' : 'refuses'} ${c.name}`, () => {
      expect(verifyWebhookSignature(c.secret ?? secret, c.body ?? body, c.header)).to.equal(c.ok);
    });
  }
});
