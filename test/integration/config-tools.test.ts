import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dist = join(root, 'dist');
const base = mkdtempSync(join(tmpdir(), 'ctdb-config-tools-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const built = existsSync(join(dist, 'ctdb-config.js')) && existsSync(join(dist, 'ctdb-path.js'));

/** Runs a built tool in test mode with base as CTDB_BASE; spawnSync waits for exit, so no process outlives it. */
function run(tool: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(dist, `${tool}.js`), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CTDB_TEST_MODE: 'yes', CTDB_BASE: base, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const conf = (text: string): void => writeFileSync(join(base, 'ctdb.conf'), text);
const noConf = (): void => rmSync(join(base, 'ctdb.conf'), { force: true });

describe.skipIf(!built)('ctdb-path (skipped when dist/ is not built: run npm run build)', () => {
  it.each([
    [['config'], `${base}/ctdb.conf`],
    [['pidfile', 'ctdbd'], `${base}/run/ctdbd.pid`],
    [['pidfile'], `${base}/run/ctdbd.pid`],
    [['socket', 'ctdbd'], `${base}/run/ctdbd.socket`],
    [['socket', 'eventd'], `${base}/run/eventd.socket`],
    [['datadir'], `${base}/share`],
    [['etcdir'], base],
    [['rundir'], `${base}/run`],
    [['lockdir'], `${base}/run`],
    [['piddir'], `${base}/run`],
    [['socketdir'], `${base}/run`],
    [['vardir'], `${base}/var`],
    [['vardir', 'append', 'foo/bar'], `${base}/var/foo/bar`],
    [['etcdir', 'append', 'events'], `${base}/events`],
  ])('%j', (args, want) => {
    expect(run('ctdb-path', args)).toEqual({ code: 0, out: `${want}\n`, err: '' });
  });

  it('uses Debian locations outside test mode and honours CTDB_SOCKET', () => {
    expect(run('ctdb-path', ['vardir'], { CTDB_TEST_MODE: '', CTDB_BASE: '' }).out).toBe('/var/lib/ctdb\n');
    expect(run('ctdb-path', ['socket', 'ctdbd'], { CTDB_SOCKET: '/x/s.sock' }).out).toBe('/x/s.sock\n');
  });

  it.each([
    [[], 1],
    [['bogus'], 1],
    [['datadir', 'append'], 22],
    [['datadir', 'foo'], 22],
    [['config', 'extra'], 22],
    [['socket', 'a', 'b'], 22],
  ])('%j fails with exit %i', (args, code) => {
    const r = run('ctdb-path', args);
    expect(r.code).toBe(code);
    expect(r.out).toBe('');
    expect(r.err).not.toBe('');
  });

  it('has --help', () => {
    const r = run('ctdb-path', ['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: ctdb-path');
  });
});

describe.skipIf(!built)('ctdb-config (skipped when dist/ is not built: run npm run build)', () => {
  it('validate needs the file', () => {
    noConf();
    const r = run('ctdb-config', ['validate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${base}/ctdb.conf`);
    conf('[cluster]\nleader timeout = 3\n');
    expect(run('ctdb-config', ['validate']).code).toBe(0);
  });

  it('validate reports file and line of a bad value with exit 22', () => {
    conf('[cluster]\n\nleader capability = maybe\n');
    const r = run('ctdb-config', ['validate']);
    expect(r.code).toBe(22);
    expect(r.err).toContain(`${base}/ctdb.conf:3: invalid value for [cluster] -> "leader capability"`);
    expect(run('ctdb-config', ['get', 'cluster', 'leader timeout']).code).toBe(22);
  });

  it('get prints values as the spec says', () => {
    conf('[cluster]\nleader timeout = 0x10\nleader capability = no\n[logging]\nlocation = syslog\n');
    expect(run('ctdb-config', ['get', 'cluster', 'leader timeout']).out).toBe('16\n');
    expect(run('ctdb-config', ['get', 'cluster', 'leader capability']).out).toBe('false\n');
    expect(run('ctdb-config', ['get', 'logging', 'location']).out).toBe('syslog\n');
    expect(run('ctdb-config', ['get', 'cluster', 'node address'])).toEqual({ code: 0, out: '\n', err: '' });
    expect(run('ctdb-config', ['get', 'database', 'volatile database directory']).out).toBe(`${base}/var/volatile\n`);
  });

  it('get of an unknown option exits 2 (ENOENT)', () => {
    noConf();
    const r = run('ctdb-config', ['get', 'cluster', 'bogus']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('[cluster] -> "bogus" not defined');
  });

  it('dump prints every option, commenting those not set, and dumps back to itself', () => {
    conf('[cluster]\nnode address = 127.0.0.2\n[legacy]\nrealtime scheduling = false\n');
    const r = run('ctdb-config', ['dump']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('[cluster]\n\t# transport = tcp\n\tnode address = 127.0.0.2\n');
    expect(r.out).toContain('\trealtime scheduling = false\n');
    expect(r.out.match(/^\t/gm)).toHaveLength(24);
    conf(r.out);
    expect(run('ctdb-config', ['dump']).out).toBe(r.out);
  });

  it('dump with no file prints the defaults', () => {
    noConf();
    const r = run('ctdb-config', ['dump']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('\t# leader timeout = 5\n');
  });

  it.each([
    [[], 1],
    [['foo'], 1],
    [['get', 'cluster'], 22],
    [['dump', 'x'], 22],
    [['-d', 'LOUD', 'dump'], 22],
    [['-d'], 22],
  ])('%j fails with exit %i', (args, code) => {
    const r = run('ctdb-config', args);
    expect(r.code).toBe(code);
    expect(r.out).toBe('');
  });

  it('accepts -d LEVEL and has --help', () => {
    conf('[cluster]\nleader timeout = 3\n');
    expect(run('ctdb-config', ['-d', 'DEBUG', 'validate']).code).toBe(0);
    expect(run('ctdb-config', ['--debug=NOTICE', 'validate']).code).toBe(0);
    const h = run('ctdb-config', ['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('get SECTION KEY');
  });
});

// Debian's tools print the same paths for the layout both daemons share.
const debianPath = '/usr/libexec/ctdb/ctdb-path';
describe.skipIf(!built || !existsSync(debianPath))('ctdb-path agrees with Debian (skipped: Debian ctdb not installed)', () => {
  it.each([['config'], ['pidfile', 'ctdbd'], ['socket', 'ctdbd'], ['datadir'], ['etcdir'], ['rundir'], ['vardir', 'append', 'x']])(
    '%j', (...args) => {
      const env = { PATH: '/usr/bin:/bin', CTDB_TEST_MODE: 'yes', CTDB_BASE: base };
      const want = execFileSync(debianPath, args, { env, encoding: 'utf8', timeout: 10_000 });
      expect(run('ctdb-path', args).out).toBe(want);
    });
});

// Nodes-file numbering must agree with Debian's tool, which reads the file itself.
const debianCtdb = '/usr/bin/ctdb';
describe.skipIf(!existsSync(debianCtdb))('nodes file agrees with Debian ctdb listnodes (skipped: Debian ctdb not installed)', () => {
  it.each([
    '127.0.0.1\n127.0.0.2\n',
    '127.0.0.1\n\n  \n127.0.0.3\n',
    '# gone\n  #127.0.0.2\n127.0.0.3',
    '  127.0.0.2  \n\t127.0.0.3\r\n',
    'fe80::0001\n::ffff:1.2.3.4\n',
  ])('%j', async (text) => {
    const { parseNodesFile } = await import('../../src/common/nodes.js');
    const nb = mkdtempSync(join(base, 'nodes-'));
    writeFileSync(join(nb, 'nodes'), text);
    const env = { PATH: '/usr/bin:/bin', CTDB_TEST_MODE: 'yes', CTDB_BASE: nb };
    const out = execFileSync(debianCtdb, ['-X', 'listnodes'], { env, encoding: 'utf8', timeout: 10_000 });
    const theirs = out.trim().split('\n').filter((l) => l !== '');
    const ours = parseNodesFile(text, 'nodes').filter((n) => !n.deleted).map((n) => `|${n.pnn}|${n.address}|`);
    expect(ours).toEqual(theirs);
  });
});

describe('man pages document everything', () => {
  it('ctdb.conf(5) names every option and keeps a CLUSTER LOCK section', async () => {
    const { CONFIG_OPTIONS } = await import('../../src/common/config.js');
    const page = readFileSync(join(root, 'man/ctdb.conf.5'), 'utf8');
    expect(page).toMatch(/^\.SH CLUSTER LOCK$/m);
    const text = page.replace(/\\ /g, ' ');
    for (const o of CONFIG_OPTIONS) {
      expect(text).toMatch(new RegExp(`^\\.SH ${o.section.toUpperCase()} SECTION$`, 'm'));
      expect(text, o.key).toContain(`.BR ${o.key} =`);
    }
  });

  it('ctdb-tunables(7) names every tunable', async () => {
    const { TUNABLES } = await import('../../src/common/tunables.js');
    const page = readFileSync(join(root, 'man/ctdb-tunables.7'), 'utf8');
    for (const t of TUNABLES) expect(page, t.name).toMatch(new RegExp(`^\\.B[R]? ${t.name}\\b`, 'm'));
  });
});
