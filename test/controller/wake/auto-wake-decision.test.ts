/** hostsToWake: which quiet hosts an open `wake: true` distribution wakes, and how often. */
import { expect } from 'chai';
import { type CandidateAction, hostsToWake, type WakeCandidate, type WakeDecision } from '../../../controller/wake/auto-wake-decision.js';

const now = new Date('2026-12-01T22:00:00.000Z');
const policy = { repeatMs: 15 * 60_000, defaultPollIntervalMs: 60_000, seenSlackMs: 60_000 };
const action = (over: Partial<CandidateAction> = {}, distribute: Partial<CandidateAction['distribute']> = {}): CandidateAction => ({
  deployment: 'editor',
  distribute: { wake: true, ...distribute },
  suspended: false,
  state: 'pending',
  ...over,
});
const host = (over: Partial<WakeCandidate> = {}): WakeCandidate => ({
  host: 'pc1',
  actions: [action()],
  lastSeenAt: '2026-12-01T21:50:00.000Z',
  pollIntervalMs: 60_000,
  ...over,
});
const woken = (h: string, deployments: string[], quiet: string, poll = 60): WakeDecision => ({
  host: h,
  deployments,
  why: `distribution of ${deployments.join(', ')} open; ${quiet} (poll interval ${poll}s)`,
});

describe('wake: hostsToWake', () => {
  const cases: { name: string; hosts: WakeCandidate[]; want: WakeDecision[] }[] = [
    { name: 'quiet host, open distribution: woken', hosts: [host()], want: [woken('pc1', ['editor'], 'quiet since 2026-12-01T21:50:00.000Z')] },
    { name: 'seen within twice its poll interval plus the last-seen slack: left alone', hosts: [host({ lastSeenAt: '2026-12-01T21:57:00.000Z' })], want: [] },
    { name: 'seen just over that ago: woken', hosts: [host({ lastSeenAt: '2026-12-01T21:56:59.999Z' })], want: [woken('pc1', ['editor'], 'quiet since 2026-12-01T21:56:59.999Z')] },
    {
      name: 'the reported poll interval counts (5 min: quiet after 11)',
      hosts: [host({ pollIntervalMs: 300_000, lastSeenAt: '2026-12-01T21:51:00.000Z' }), host({ host: 'pc2', pollIntervalMs: 300_000, lastSeenAt: '2026-12-01T21:48:59.000Z' })],
      want: [woken('pc2', ['editor'], 'quiet since 2026-12-01T21:48:59.000Z', 300)],
    },
    {
      name: 'no reported poll interval: the default',
      hosts: [host({ pollIntervalMs: undefined, lastSeenAt: '2026-12-01T21:58:30.000Z' }), host({ host: 'pc2', pollIntervalMs: undefined })],
      want: [woken('pc2', ['editor'], 'quiet since 2026-12-01T21:50:00.000Z')],
    },
    { name: 'never heard from since enrolling: woken', hosts: [host({ lastSeenAt: undefined })], want: [woken('pc1', ['editor'], 'not heard from since it enrolled')] },
    { name: 'deployment without wake: left alone', hosts: [host({ actions: [action({}, { wake: false })] })], want: [] },
    { name: 'before notBefore: left alone', hosts: [host({ actions: [action({}, { notBefore: '2026-12-01T22:00:00.001Z' })] })], want: [] },
    {
      name: 'at notBefore: woken',
      hosts: [host({ actions: [action({}, { notBefore: '2026-12-01T22:00:00.000Z' })] })],
      want: [woken('pc1', ['editor'], 'quiet since 2026-12-01T21:50:00.000Z')],
    },
    {
      name: 'inside a window: woken; outside every window, or at its end: left alone',
      hosts: [
        host({
          actions: [
            action(
              {},
              {
                windows: [
                  { start: '2026-12-01T21:00:00.000Z', end: '2026-12-01T21:30:00.000Z' },
                  { start: '2026-12-01T22:00:00.000Z', end: '2026-12-02T04:00:00.000Z' },
                ],
              },
            ),
          ],
        }),
        host({ host: 'pc2', actions: [action({}, { windows: [{ start: '2026-12-02T22:00:00.000Z', end: '2026-12-03T04:00:00.000Z' }] })] }),
        host({ host: 'pc3', actions: [action({}, { windows: [{ start: '2026-12-01T20:00:00.000Z', end: '2026-12-01T22:00:00.000Z' }] })] }),
      ],
      want: [woken('pc1', ['editor'], 'quiet since 2026-12-01T21:50:00.000Z')],
    },
    {
      name: 'finished, failed, not applicable or suspended actions do not wake',
      hosts: (['installed', 'uninstalled', 'failed', 'not-applicable', 'suspended', 'blocked'] as const)
        .map((state, i) => host({ host: `pc${i}`, actions: [action({ state })] }))
        .concat([host({ host: 'pcx', actions: [action({ suspended: true })] })]),
      want: [],
    },
    {
      name: 'waiting, downloading, downloaded, installing still need the host',
      hosts: (['waiting', 'downloading', 'downloaded', 'installing'] as const).map((state, i) => host({ host: `pc${i}`, actions: [action({ state })] })),
      want: ['pc0', 'pc1', 'pc2', 'pc3'].map((h) => woken(h, ['editor'], 'quiet since 2026-12-01T21:50:00.000Z')),
    },
    { name: 'woken 14 minutes ago: not again yet', hosts: [host({ lastWokenAt: '2026-12-01T21:46:00.000Z' })], want: [] },
    {
      name: 'woken 15 minutes ago and still quiet: again',
      hosts: [host({ lastWokenAt: '2026-12-01T21:45:00.000Z' })],
      want: [woken('pc1', ['editor'], 'quiet since 2026-12-01T21:50:00.000Z')],
    },
    {
      name: 'several open deployments: one wake naming them, hosts sorted',
      hosts: [host({ host: 'pc9' }), host({ actions: [action({ deployment: 'zeta' }), action(), action({ deployment: 'closed' }, { notBefore: '2026-12-02T00:00:00.000Z' })] })],
      want: [woken('pc1', ['editor', 'zeta'], 'quiet since 2026-12-01T21:50:00.000Z'), woken('pc9', ['editor'], 'quiet since 2026-12-01T21:50:00.000Z')],
    },
  ];
  for (const c of cases) it(c.name, () => expect(hostsToWake(c.hosts, now, policy)).to.deep.equal(c.want));
});
