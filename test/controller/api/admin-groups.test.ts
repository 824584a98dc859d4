/** The group filter of a deployment's hosts and a host's groups (added for the dashboard). */
import { expect } from 'chai';
import { planAction } from '../../dashboard/fleet.js';
import { startHarness, type Harness } from './harness.js';

describe('admin API: groups', () => {
  const desired = [{ name: 'editor-2-4', suspended: false, packages: [{ name: 'text-editor', version: '2.4.1', state: 'present' as const }] }];
  const actionId = 'editor-2-4/text-editor@2.4.1/install';
  let h: Harness;
  afterEach(async () => h.close());

  async function report(host: string, state: string): Promise<void> {
    const token = await h.enroll(host);
    await h.seedPlan(host, undefined, [planAction('editor-2-4', 'text-editor', '2.4.1')]);
    const at = new Date().toISOString();
    const r = await h.request('POST', `/v1/hosts/${host}/reports`, { token, json: { results: [{ id: `${host}-1`, actionId, serial: 1, state, at }] } });
    expect(r.status, r.text).to.equal(200);
  }

  it("filters a deployment's hosts by group, with the state filter, and lists the groups", async () => {
    h = await startHarness({ desired, groups: { sales: ['s1', 's2'], lab: ['l1', 's2'], empty: [] } });
    await report('s1', 'installed');
    await report('s2', 'failed');
    await report('l1', 'failed');
    const hostsOf = (r: { json: { hosts: { items: { host: string }[] } } }) => r.json.hosts.items.map((i) => i.host);

    const all = await h.request('GET', '/v1/deployments/editor-2-4');
    expect(all.json.groups).to.deep.equal(['empty', 'lab', 'sales']);
    expect(hostsOf(all)).to.deep.equal(['l1', 's1', 's2']);
    const sales = await h.request('GET', '/v1/deployments/editor-2-4?group=sales');
    expect(sales.json.hosts.total).to.equal(2);
    expect(hostsOf(sales)).to.deep.equal(['s1', 's2']);
    const failedSales = await h.request('GET', '/v1/deployments/editor-2-4?group=sales&state=failed');
    expect(hostsOf(failedSales)).to.deep.equal(['s2']);
    const empty = await h.request('GET', '/v1/deployments/editor-2-4?group=empty');
    expect(empty.json.hosts).to.deep.equal({ total: 0, offset: 0, limit: 100, items: [] });

    const unknown = await h.request('GET', '/v1/deployments/editor-2-4?group=nope');
    expect(unknown.status).to.equal(400);
    expect(unknown.json.error).to.include({ code: 'unknown-group', message: 'no group nope in the applied revision' });
    const bad = await h.request('GET', '/v1/deployments/editor-2-4?group=Not_A_Name');
    expect(bad.status).to.equal(400);
    expect(bad.json.error.code).to.equal('invalid-query');

    const host = await h.request('GET', '/v1/hosts/s2');
    expect(host.json.groups).to.deep.equal(['lab', 'sales']);
  });

  it('offers no groups and refuses a group filter when membership is unknown', async () => {
    h = await startHarness({ desired });
    await report('s1', 'installed');
    const all = await h.request('GET', '/v1/deployments/editor-2-4');
    expect(all.json).to.not.have.property('groups');
    const filtered = await h.request('GET', '/v1/deployments/editor-2-4?group=sales');
    expect(filtered.status).to.equal(400);
    expect(filtered.json.error.code).to.equal('unknown-group');
    const host = await h.request('GET', '/v1/hosts/s1');
    expect(host.json).to.not.have.property('groups');
  });
});
