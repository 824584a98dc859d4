"""Runs a command with ONE of its stdout/stderr on a pseudo-terminal and the other on a pipe,
until a line on either contains MARK; then SIGTERM, and prints what each stream carried as JSON.
Usage: pty-run.py stdout|stderr MARK -- CMD..."""
import json, os, pty, select, signal, subprocess, sys

which, mark = sys.argv[1], sys.argv[2]
cmd = sys.argv[sys.argv.index('--') + 1:]
master, slave = pty.openpty()
kw = {'stdout': slave, 'stderr': subprocess.PIPE} if which == 'stdout' else {'stdout': subprocess.PIPE, 'stderr': slave}
child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kw)
os.close(slave)
piped = child.stderr if which == 'stdout' else child.stdout
out = {'tty': b'', 'pipe': b''}
while mark.encode() not in out['tty'] + out['pipe']:
    ready, _, _ = select.select([master, piped], [], [], 60)
    if not ready:
        break
    for fd in ready:
        key = 'tty' if fd == master else 'pipe'
        try:
            data = os.read(master, 65536) if fd == master else os.read(piped.fileno(), 65536)
        except OSError:
            data = b''
        if not data and child.poll() is not None:
            mark = ''
        out[key] += data
child.send_signal(signal.SIGTERM)
child.wait(30)
print(json.dumps({k: v.decode('utf8', 'replace') for k, v in out.items()}))
