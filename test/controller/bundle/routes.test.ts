/** The bundle routes' refusals over HTTP (real API, SQLite store): admin only, one of host or group, schemas. */
import { expect } from 'chai';
import { startHarness, type Harness } from '../api/harness.js';

describe('controller/api/routes-bundles: refusals', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  const call = async (method: string, path: string, o: { token?: string; body?: unknown } = {}) => {
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    return [res.status, body.error.code, body.error.message];
  };

  const cases: { name: string; method: string; path: string; admin: boolean; body?: unknown; expected: unknown[] }[] = [
    { name: 'no token', method: 'GET', path: '/v1/bundles?host=h1', admin: false, expected: [401, 'admin-token-required'] },
    { name: 'host and group', method: 'GET', path: '/v1/bundles?host=h1&group=g', admin: true, expected: [400, 'bad-request', 'give exactly one of host=H or group=G'] },
    { name: 'neither', method: 'GET', path: '/v1/bundles', admin: true, expected: [400, 'bad-request', 'give exactly one of host=H or group=G'] },
    {
      name: 'a host without a plan',
      method: 'GET',
      path: '/v1/bundles?host=h1',
      admin: true,
      expected: [404, 'not-found', "no plan for host h1: name it in a Host manifest or a group's hosts (or let it enroll), and wait for the controller to plan it"],
    },
    { name: 'results without a token', method: 'POST', path: '/v1/results', admin: false, body: {}, expected: [401, 'admin-token-required'] },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const got = await call(c.method, c.path, c.admin ? { token: h.adminToken, body: c.body } : { body: c.body });
      expect(got.slice(0, c.expected.length)).to.deep.equal(c.expected);
    });
  }

  it('refuses a bad duration and a results body that is not a results file, with 400 and the schema problem', async () => {
    const [status, code] = await call('GET', '/v1/bundles?host=h1&valid=soon', { token: h.adminToken });
    expect([status, code]).to.deep.equal([400, 'invalid-query']);
    const [s2, c2] = await call('POST', '/v1/results', { token: h.adminToken, body: { format: 'ferry-results/v1' } });
    expect([s2, c2]).to.deep.equal([400, 'invalid-body']);
  });
});
