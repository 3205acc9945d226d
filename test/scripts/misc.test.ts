import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, ScriptSandbox } from './harness.js';

let sb: ScriptSandbox | undefined;
afterEach(() => { sb?.cleanup(); sb = undefined; });

const OTHERS = new Set(['11.natgw.script', '91.lvs.script']); // written by another engineer, checked there
const shellFiles = (): string[] => {
  const ev = join(REPO, 'events');
  const legacy = readdirSync(join(ev, 'legacy')).filter((f) => f.endsWith('.script') && !OTHERS.has(f)).map((f) => `legacy/${f}`);
  const checks = readdirSync(join(ev, 'nfs-checks.d')).map((f) => `nfs-checks.d/${f}`);
  return ['functions', 'notify.sh', 'debug-hung-script.sh', 'statd-callout', 'nfs-linux-kernel-callout', 'nfs-ganesha-callout',
    'script.options', ...legacy, ...checks];
};
const haveShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

describe('shell sources', () => {
  it.skipIf(!haveShellcheck)('are shellcheck-clean as POSIX sh (skipped only when Debian shellcheck is not installed)', () => {
    const files = shellFiles();
    expect(files.length).toBeGreaterThan(25);
    const r = spawnSync('shellcheck', ['-x', '-s', 'sh', ...files], { cwd: join(REPO, 'events'), encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('every legacy script parses with dash and ignores an unknown event', () => {
    sb = new ScriptSandbox();
    for (const f of shellFiles().filter((x) => x.startsWith('legacy/'))) {
      expect(spawnSync('dash', ['-n', join(REPO, 'events', f)]).status, f).toBe(0);
      const r = sb.run(`events/${f}`, ['someunknownevent']);
      expect([f, r.rc, r.calls]).toEqual([f, 0, []]);
    }
  });
});

describe('notify.sh', () => {
  it('notify.sh.healthy.001: runs executable notification scripts in order and fails if one fails', () => {
    sb = new ScriptSandbox();
    const out = join(sb.root, 'notified');
    sb.file('base/events/notification/10.a.script', `#!/bin/sh\necho "a $1" >>${out}\n`, 0o755);
    sb.file('base/events/notification/20.off.script', `#!/bin/sh\necho "off $1" >>${out}\n`, 0o644);
    sb.file('base/events/notification/30.b.script', `#!/bin/sh\necho "b $1" >>${out}\n`, 0o755);
    expect(sb.run('notify.sh', ['healthy']).rc).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('a healthy\nb healthy\n');
    sb.file('base/events/notification/25.fail.script', '#!/bin/sh\nexit 4\n', 0o755);
    const r = sb.run('notify.sh', ['unhealthy']);
    expect(r.rc).toBe(1);
    expect(r.out).toMatch(/25\.fail\.script failed for unhealthy/);
    expect(readFileSync(out, 'utf8')).toBe('a healthy\nb healthy\na unhealthy\nb unhealthy\n');
  });
});

describe('statd-callout', () => {
  it('statd-callout.add-client.001: remembers clients once and notifies from served IPs', () => {
    sb = new ScriptSandbox();
    const nfsState = join(sb.root, 'nfs');
    const env = { CTDB_NFS_STATE_DIR: nfsState };
    sb.stub({ cmd: 'sm-notify', args: '-f -v 10.0.0.5 -P *' });
    expect(sb.run('statd-callout', ['add-client', 'client1'], env).rc).toBe(0);
    expect(sb.run('statd-callout', ['add-client', 'client1'], env).rc).toBe(0);
    expect(sb.run('statd-callout', ['add-client', 'client2'], env).rc).toBe(0);
    expect(sb.run('statd-callout', ['del-client', 'client2'], env).rc).toBe(0);
    expect(readFileSync(join(nfsState, 'statd/clients'), 'utf8')).toBe('client1\n');
    sb.file('nfs/public-ips', '10.0.0.5\n');
    const r = sb.run('statd-callout', ['notify'], env);
    expect(r.rc).toBe(0);
    expect(r.calls).toEqual([`sm-notify -f -v 10.0.0.5 -P ${nfsState}/statd/sm-10.0.0.5`]);
    expect(readFileSync(join(nfsState, 'statd/clients'), 'utf8')).toBe('');
    expect(sb.run('statd-callout', ['bogus'], env).rc).toBe(1);
  });
});

describe('debug-hung-script.sh', () => {
  it('debug-hung-script.sh.monitor.001: prints the process tree of the hung pid', () => {
    const hung = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore', detached: true });
    try {
      const r = spawnSync(join(REPO, 'events/debug-hung-script.sh'), [String(hung.pid), 'monitor'], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`hung script debug: pid ${hung.pid}, event monitor`);
      expect(r.stdout).toMatch(new RegExp(`--- pid ${hung.pid}: sh -c sleep 30 & wait`));
      expect(r.stdout).toMatch(/--- pid \d+: sleep 30/);
    } finally {
      process.kill(-hung.pid!, 'SIGKILL');
    }
  });
});

describe('functions library', () => {
  it('functions.load_script_options.001: global then per-script options; ctdb_get_pnn caches', () => {
    sb = new ScriptSandbox();
    sb.file('base/script.options', 'A=global\nB=global\n');
    sb.file('base/events/legacy/42.t.options', 'B=local\n');
    sb.file('base/events/legacy/42.t.script',
      '#!/bin/sh\n. "$CTDB_BASE/functions"\nload_script_options\necho "$A $B"\nctdb_get_pnn\nctdb_get_pnn\n' +
      'ctdb_counter_incr; ctdb_counter_incr; ctdb_counter_get\nip_maskbits_iface 10.1.1.1\n', 0o755);
    sb.stub({ cmd: 'ctdb', args: 'pnn', out: '2\n' },
      { cmd: 'ip', args: '-o -4 addr show to 10.1.1.1', out: '2: eth7    inet 10.1.1.1/23 brd 10.1.1.255 scope global eth7\\       valid_lft forever\n' });
    const r = sb.run('events/legacy/42.t.script', ['monitor']);
    expect(r.out).toBe('global local\n2\n2\n2\n23 eth7\n');
    expect(r.calls).toEqual(['ctdb pnn', 'ip -o -4 addr show to 10.1.1.1']);
    expect(existsSync(join(sb.vardir, 'my-pnn'))).toBe(true);
  });
});
