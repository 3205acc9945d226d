import { existsSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTop, type TopSnapshot } from '../../src/cli/top.js';
import { DIST, LocalCluster } from '../harness/cluster.js';
import { hasTmux, TmuxSession } from './admin-tmux.js';

const built = existsSync(join(DIST, 'ctdbd.js')) && existsSync(join(DIST, 'ctdb.js'));

describe('renderTop', () => {
  const snap: TopSnapshot = {
    at: Date.UTC(2026, 0, 2, 3, 4, 5), pnn: 0, leader: 1, recmode: 0, generation: 42,
    nodes: [
      { pnn: 0, address: '10.0.0.1', flags: 0 }, { pnn: 1, address: '10.0.0.2', flags: 0 },
      { pnn: 2, address: '10.0.0.3', flags: 0x21 }, { pnn: 3, address: '0.0.0.0', flags: 0x10 },
    ],
    ips: [{ address: '192.168.1.10', pnn: 1 }, { address: '192.168.1.9', pnn: 0 }, { address: '192.168.1.11', pnn: 0xffffffff }],
    monitor: {
      result: 1, found: true, scripts: [
        { name: '10.interface', begin: { sec: 0, usec: 0 }, end: { sec: 1767323043, usec: 0 }, result: 0, output: '' },
        { name: '50.samba', begin: { sec: 0, usec: 0 }, end: { sec: 1767323043, usec: 0 }, result: 1, output: 'smbd not listening\nmore' },
      ],
    },
    errors: ['ctdb-eventd: example problem'],
  };

  it('shows nodes, leader, recovery, IPs with owners, monitor results and problems', () => {
    const text = renderTop(snap);
    expect(text).toContain('ctdb top - node 0 - 2026-01-02 03:04:05 UTC');
    expect(text).toContain('Leader: 1   Recovery mode: NORMAL   Generation: 42');
    expect(text).toContain('Nodes: 3 (2 OK)');
    expect(text).toMatch(/ {2}1 {4}10\.0\.0\.2 {9}OK leader {20}1\n/);
    expect(text).toContain('DISCONNECTED|STOPPED|INACTIVE');
    expect(text).not.toContain('0.0.0.0');
    // IPs sorted numerically; unassigned ones say so.
    expect(text.indexOf('192.168.1.9 ')).toBeLessThan(text.indexOf('192.168.1.10 '));
    expect(text).toMatch(/192\.168\.1\.11 +unassigned/);
    expect(text).toContain('Monitor (this node): FAILED (1), 2s ago');
    expect(text).toMatch(/50\.samba +ERROR\(1\) +smbd not listening\n/);
    expect(text).toContain('! ctdb-eventd: example problem');
  });

  it('fits the width and marks unknown values', () => {
    const text = renderTop({ ...snap, leader: 0xffffffff, recmode: 1, generation: 1, monitor: undefined }, 30);
    expect(text.split('\n').every((l) => l.length <= 30)).toBe(true);
    expect(text).toContain('Leader: UNKNOWN   Recovery mo');
    expect(renderTop({ ...snap, recmode: 1, generation: 1 })).toContain('Recovery mode: RECOVERY   Generation: INVALID');
  });
});

describe.skipIf(!built)('ctdb top on a 3-node cluster (127.0.0.237-239)', () => {
  const c = new LocalCluster({ nodes: 3, firstOctet: 237, tunables: 'KeepaliveInterval=1\nKeepaliveLimit=2\n' });

  beforeAll(async () => {
    for (let pnn = 0; pnn < 3; pnn++) {
      // Public IPs held in test mode only (no event scripts touch interfaces).
      writeFileSync(join(c.base(pnn), 'public_addresses'), '10.239.0.1/24 lo\n10.239.0.2/24 lo\n10.239.0.3/24 lo\n');
    }
    const script = join(c.base(0), 'events/legacy/10.check.script');
    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    chmodSync(script, 0o755);
    c.startAll();
    expect(await c.waitAllOk(0, 90_000)).toBe(true);
  }, 120_000);
  afterAll(async () => { await c.stop(); });

  it('prints one frame when stdout is not a terminal', async () => {
    const ok = await c.waitFor(() => /10\.239\.0\.3 +node \d/.test(c.ctdb(0, ['top']).stdout), 30_000, 1000);
    expect(ok).toBe(true);
    const r = c.ctdb(0, ['top']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ctdb top - node 0 - /);
    expect(r.stdout).toContain('Nodes: 3 (3 OK)');
    expect(r.stdout).toMatch(/Leader: [0-2] {3}Recovery mode: NORMAL {3}Generation: \d+/);
    expect(r.stdout).not.toContain('\x1b[');
    const two = c.ctdb(1, ['watch', '2']);
    expect(two.stdout.match(/^ctdb top - node 1/gm)).toHaveLength(2);
    expect(c.ctdb(0, ['top', '0']).code).toBe(1);
  });

  it.skipIf(!hasTmux)('redraws live in a terminal and shows a killed node (tmux)', async () => {
    const t = new TmuxSession('ctdb-top', `${process.execPath} ${join(DIST, 'ctdb.js')} top`, c.env(0));
    try {
      let screen = await t.waitScreen((s) => s.includes('Nodes: 3 (3 OK)') && s.includes('Monitor (this node): OK'));
      expect(screen).toContain('Nodes: 3 (3 OK)');
      expect(screen).toMatch(/^ {2}2 {4}127\.0\.0\.239 +OK/m);
      expect(screen).toContain('10.239.0.1');
      expect(screen).toMatch(/10\.check +OK/);
      await c.kill(2);
      screen = await t.waitScreen((s) => /^ {2}2 {4}127\.0\.0\.239 +DISCONNECTED\|INACTIVE +0$/m.test(s), 120);
      expect(screen).toMatch(/^ {2}2 {4}127\.0\.0\.239 +DISCONNECTED\|INACTIVE +0$/m);
      expect(screen).toContain('Nodes: 3 (2 OK)');
      t.send(['q']);
      screen = await t.waitScreen((s) => s.includes('EXITED'));
      expect(screen).toContain('EXITED 0');
    } finally {
      t.kill();
    }
  }, 90_000);
});
