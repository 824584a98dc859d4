/**
 * nginx as the reference server of the benchmarks: found (or, as root, installed from Debian's
 * `nginx-light`), configured in a scratch folder on a free loopback port, started, and waited for.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const NGINX = '/usr/sbin/nginx';

/** nginx's path, installing `nginx-light` when running as root; undefined (with a line saying why) when it cannot be had. */
export function ensureNginx(): string | undefined {
  if (existsSync(NGINX)) return NGINX;
  if (process.getuid?.() !== 0) {
    console.log(`nginx not found: install it with \`sudo apt-get install -y nginx-light\` for the comparison; skipping it`);
    return undefined;
  }
  try {
    console.log('installing nginx-light for the comparison (apt-get) …');
    const run = (args: string[]) => execFileSync('apt-get', args, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    try {
      run(['install', '-y', 'nginx-light']);
    } catch {
      run(['update']);
      run(['install', '-y', 'nginx-light']);
    }
  } catch (err) {
    console.log(`could not install nginx-light (${(err as Error).message}); skipping the comparison`);
    return undefined;
  }
  return existsSync(NGINX) ? NGINX : undefined;
}

/** A loopback port free right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once 127.0.0.1:`port` accepts connections; throws after `deadlineMs`. */
export async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts one nginx worker with its state in `dir`, serving `serverLines` (the inside of a `server`
 * block, after its `listen`) and `httpLines` (extra `http` directives); resolves once it listens.
 */
export async function startNginx(
  bin: string,
  dir: string,
  o: { readonly httpLines?: readonly string[]; readonly serverLines: readonly string[] },
): Promise<{ readonly process: ChildProcess; readonly port: number }> {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, `nginx-${t}`)};`);
  await writeFile(
    conf,
    [
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'nginx-error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      '  sendfile on;',
      ...temp,
      ...(o.httpLines ?? []).map((l) => `  ${l}`),
      '  server {',
      `    listen 127.0.0.1:${port};`,
      ...o.serverLines.map((l) => `    ${l}`),
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, 10_000);
  return { process: child, port };
}
