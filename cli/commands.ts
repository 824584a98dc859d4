import type { Command } from 'commander';

/** One subcommand: its words, a one-line summary, and how to load it (absent: not built yet). */
export interface CommandEntry {
  readonly words: readonly string[];
  readonly usage: string;
  readonly summary: string;
  /** Loads the command's module; it defines options and the action on the given Command. */
  readonly load?: () => Promise<{ configure(cmd: Command): void }>;
}

/** Every subcommand of DESIGN §3, in the order `ferry --help` lists them. */
export const commands: readonly CommandEntry[] = [
  { words: ['validate'], usage: '[DIR]', summary: 'validate manifests: every problem as FILE:LINE:COL', load: () => import('./validate.js') },
  { words: ['plan'], usage: '[DIR] --inventory FILE', summary: 'plans per host; with --base, what a change does to which hosts', load: () => import('./plan.js') },
  { words: ['controller'], usage: '[--repo URL|DIR]', summary: 'run the controller (follows git, plans, serves agents and admins)', load: () => import('./controller.js') },
  { words: ['agent'], usage: '--server URL', summary: 'run an agent (or a relay) on a host', load: () => import('./agent.js') },
  {
    words: ['package', 'build'],
    usage: 'DIR --name N --version V',
    summary: 'make a reproducible artifact and print its Package manifest',
    load: () => import('./package-build.js'),
  },
  { words: ['key', 'generate'], usage: '--out PREFIX', summary: 'make an ed25519 publisher key pair for `package build --sign`', load: () => import('./key.js') },
  { words: ['package', 'push'], usage: 'FILE', summary: "upload an artifact to the controller's content store", load: () => import('./package-push.js') },
  { words: ['token', 'create'], usage: '[--ttl 24h]', summary: 'make an enrollment token', load: () => import('./token-create.js') },
  { words: ['token', 'list'], usage: '', summary: 'list enrollment tokens (id, state, expiry, uses)', load: () => import('./token-list.js') },
  { words: ['token', 'revoke'], usage: 'ID|TOKEN', summary: 'revoke an enrollment token now', load: () => import('./token-revoke.js') },
  { words: ['status'], usage: '[DEPLOYMENT]', summary: 'what is pending, installed, failed or not applicable, and why', load: () => import('./status.js') },
  { words: ['hosts'], usage: '[HOST]', summary: 'hosts, their inventory, groups and plans', load: () => import('./hosts.js') },
  { words: ['suspend'], usage: 'DEPLOYMENT', summary: 'suspend a deployment (new actions stop, transfers pause)', load: () => import('./suspend.js') },
  { words: ['resume'], usage: 'DEPLOYMENT', summary: 'resume a suspended deployment', load: () => import('./resume.js') },
  { words: ['wake'], usage: 'HOST|--group G', summary: 'send Wake-on-LAN now', load: () => import('./wake.js') },
  { words: ['bundle', 'export'], usage: '(--host H|--group G) --out FILE', summary: 'offline bundle: signed plan and artifacts', load: () => import('./bundle-export.js') },
  { words: ['bundle', 'apply'], usage: 'FILE', summary: 'install from a bundle on an offline host', load: () => import('./bundle-apply.js') },
  { words: ['results', 'import'], usage: 'FILE', summary: "bring an offline host's results into the controller", load: () => import('./results-import.js') },
  { words: ['audit'], usage: 'HOST', summary: 'every install on a host back to its commit, publisher key and artifact digest', load: () => import('./audit.js') },
  { words: ['demo'], usage: '', summary: 'a controller and local agents on the example fleet, with the dashboard', load: () => import('./demo.js') },
];
