/**
 * The simulated hosts of the demo: machines from `examples/inventory.json`, each run by its own
 * `ferry agent` with the labels and the hardware facts the inventory gives it.
 */
import { readFile } from 'node:fs/promises';

/** Why each host is in the demo: it is what a viewer should notice on the dashboard. */
export const demoHosts: readonly DemoHost[] = [
  { name: 'tyo-sales-01', role: 'sales and project Apollo: editor 2.4.1, VPN; a hand-installed legacy-editor is removed at lunch' },
  { name: 'osa-sales-03', role: 'sales in Osaka: enrolls, polls, reports and downloads through the Osaka relay', behindRelay: true },
  { name: 'tyo-eng-01', role: 'engineering: editor 2.5.0 pilot, the 3 MiB CAD suite in 1 MiB segments; legacy-editor removed' },
  { name: 'tyo-eng-02', role: 'engineering on macOS/ARM, project Apollo: no security agent (not a Linux workstation)' },
  { name: 'osa-eng-04', role: 'engineering in Osaka behind the relay: CAD suite not applicable (8 GiB of memory < 16 GiB)', behindRelay: true },
  { name: 'ber-eng-05', role: 'engineering in Berlin, project Zephyr: CAD suite; build-tools stays suspended' },
  { name: 'tyo-fin-01', role: 'finance: editor 2.4.1, VPN; legacy-editor removed at lunch' },
  { name: 'tyo-fin-02', role: 'finance with a nearly full disk: VPN not applicable (0.8 GiB free < 1 GiB)' },
];

/**
 * The Osaka relay: `ferry agent --relay`, enrolled as the host the `Relay` manifest `osaka` names
 * (`spec.host` in examples/manifests/relays.yaml). No deployment targets it (it is in `servers`).
 */
export const demoRelay = { name: 'relay-osaka-01', role: 'the Osaka relay (ferry agent --relay): content cache, plans and reports for the Osaka hosts', relay: 'osaka' } as const;

/** Hosts that had legacy-editor installed by hand before Ferry (its `detect` finds it). */
export const legacyEditorHosts: readonly string[] = ['tyo-sales-01', 'tyo-eng-01', 'tyo-fin-01'];

interface InventoryEntry {
  readonly host: string;
  readonly facts: {
    readonly os?: { readonly platform?: string };
    readonly arch?: string;
    readonly cpus?: number;
    readonly memory?: { readonly total?: number };
    readonly disk?: { readonly installRoot?: { readonly free?: number; readonly total?: number } };
    readonly timezone?: string;
  };
  readonly labels: Readonly<Record<string, string>>;
}

interface DemoHost {
  readonly name: string;
  readonly role: string;
  /** Its `--server` is the Osaka relay, as at a site whose hosts reach only their relay. */
  readonly behindRelay?: boolean;
}

export interface SimulatedHost extends DemoHost {
  /** `--label k=v` values. */
  readonly labels: readonly string[];
  /** `--fact path=value` values: what the conditions and `timezone: host` schedules look at. */
  readonly facts: readonly string[];
}

/** Reads the example inventory and returns the demo's hosts, and its relay host, with their labels and facts. */
export async function loadDemoFleet(inventoryFile: string): Promise<{ hosts: SimulatedHost[]; relay: SimulatedHost }> {
  const inventory = JSON.parse(await readFile(inventoryFile, 'utf8')) as InventoryEntry[];
  const simulate = ({ name, role, behindRelay }: DemoHost): SimulatedHost => {
    const entry = inventory.find((e) => e.host === name);
    if (!entry) throw new Error(`${inventoryFile}: no host ${name} (the demo simulates it)`);
    const f = entry.facts;
    const facts: [string, unknown][] = [
      ['os.platform', f.os?.platform],
      ['arch', f.arch],
      ['cpus', f.cpus],
      ['memory.total', f.memory?.total],
      ['disk.installRoot.free', f.disk?.installRoot?.free],
      ['disk.installRoot.total', f.disk?.installRoot?.total],
      ['timezone', f.timezone],
    ];
    return {
      name,
      role,
      ...(behindRelay ? { behindRelay } : {}),
      labels: Object.entries(entry.labels).map(([k, v]) => `${k}=${v}`),
      facts: facts.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${String(v)}`),
    };
  };
  return { hosts: demoHosts.map(simulate), relay: simulate(demoRelay) };
}
