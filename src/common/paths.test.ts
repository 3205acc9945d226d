import { describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageDistDir, resolvePaths } from './paths.js';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

describe('resolvePaths', () => {
  it('uses Debian locations outside test mode', () => {
    const p = resolvePaths({});
    expect(p).toMatchObject({
      base: '/etc/ctdb', testMode: false, configFile: '/etc/ctdb/ctdb.conf', nodesFile: '/etc/ctdb/nodes',
      publicAddressesFile: '/etc/ctdb/public_addresses', tunablesFile: '/etc/ctdb/ctdb.tunables',
      scriptOptionsFile: '/etc/ctdb/script.options', notifyScript: '/etc/ctdb/notify.sh', eventsDir: '/etc/ctdb/events',
      rundir: '/run/ctdb', vardir: '/var/lib/ctdb', logdir: '/var/log/ctdb', datadir: '/usr/share/ctdb',
      socket: '/run/ctdb/ctdbd.socket', pidfile: '/run/ctdb/ctdbd.pid', eventdSocket: '/run/ctdb/eventd.socket',
      scriptVardir: '/var/lib/ctdb/scripts',
    });
  });

  it('derives every path from CTDB_BASE in test mode', () => {
    const b = '/tmp/x/node.1';
    const p = resolvePaths({ CTDB_TEST_MODE: 'yes', CTDB_BASE: b });
    expect(p.testMode).toBe(true);
    for (const [k, v] of Object.entries(p)) {
      if (typeof v === 'string' && k !== 'helperDir') expect(v.startsWith(b), k).toBe(true);
    }
    expect(p.socket).toBe(`${b}/run/ctdbd.socket`);
    expect(p.pidfile).toBe(`${b}/run/ctdbd.pid`);
    expect(p.vardir).toBe(`${b}/var`);
    expect(p.eventsDir).toBe(`${b}/events`);
  });

  it('keeps the configuration folder but not run/var outside test mode', () => {
    const p = resolvePaths({ CTDB_BASE: '/srv/ctdb' });
    expect(p.configFile).toBe('/srv/ctdb/ctdb.conf');
    expect(p.rundir).toBe('/run/ctdb');
  });

  it('honours CTDB_SOCKET, CTDB_HELPER_BINDIR and CTDB_SCRIPT_VARDIR', () => {
    const p = resolvePaths({ CTDB_SOCKET: '/s.sock', CTDB_HELPER_BINDIR: '/h', CTDB_SCRIPT_VARDIR: '/v' });
    expect([p.socket, p.helperDir, p.scriptVardir]).toEqual(['/s.sock', '/h', '/v']);
  });

  it('treats empty variables as unset', () => {
    const p = resolvePaths({ CTDB_TEST_MODE: '', CTDB_BASE: '', CTDB_SOCKET: '' });
    expect([p.testMode, p.base, p.socket]).toEqual([false, '/etc/ctdb', '/run/ctdb/ctdbd.socket']);
  });

  it('finds dist/ from source and from a bundle', () => {
    expect(resolvePaths({}).helperDir).toBe(join(repoRoot, 'dist'));
    expect(packageDistDir('file:///opt/pkg/dist/ctdbd.js')).toBe('/opt/pkg/dist');
  });
});
