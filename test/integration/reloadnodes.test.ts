import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster } from '../harness/cluster.js';

const built = existsSync(join(DIST, 'ctdbd.js'));

describe.skipIf(!built)('reloadnodes adds and deletes nodes at run time', () => {
  const c = new LocalCluster({ nodes: 4, firstOctet: 18 });
  const three = c.addresses.slice(0, 3).join('\n') + '\n';
  afterAll(async () => { await c.stop(); });

  it('a new node joins after every nodes file lists it and reloadnodes runs', async () => {
    for (let pnn = 0; pnn < 3; pnn++) c.writeNodes(pnn, three);
    for (let pnn = 0; pnn < 3; pnn++) c.start(pnn);
    expect(await c.waitAllOk(0, 60_000)).toBe(true);
    expect(c.ctdb(0, ['status']).stdout).toMatch(/^Number of nodes:3\n/);

    const four = c.addresses.join('\n') + '\n';
    for (let pnn = 0; pnn < 4; pnn++) c.writeNodes(pnn, four);
    c.start(3);
    const r = c.ctdb(0, ['reloadnodes']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Node 3 is NEW\n');
    expect(r.code).toBe(0);
    expect(await c.waitAllOk(0, 60_000)).toBe(true);
    expect(c.ctdb(0, ['status']).stdout).toMatch(/^Number of nodes:4\n(.*\n){3}pnn:3 127\.0\.0\.21 +OK\n/);
    expect(await c.waitFor(() => /Size:4\n/.test(c.ctdb(1, ['status']).stdout), 20_000)).toBe(true);
  });

  it('refuses to delete a node that is still connected', () => {
    const marked = c.addresses.slice(0, 3).join('\n') + `\n#${c.addresses[3]}\n`;
    for (let pnn = 0; pnn < 4; pnn++) c.writeNodes(pnn, marked);
    const r = c.ctdb(0, ['reloadnodes']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Node 3 is not disconnected');
  });

  it('deletes a stopped-and-disconnected node', async () => {
    await c.kill(3);
    expect(await c.waitFor(() => c.ctdb(0, ['nodestatus', '3']).stdout.includes('DISCONNECTED'), 15_000)).toBe(true);
    const r = c.ctdb(0, ['reloadnodes']);
    expect(r.stdout).toBe('Node 3 is DELETED\n');
    expect(r.code).toBe(0);
    expect(await c.waitFor(() => c.ctdb(0, ['status']).stdout.startsWith('Number of nodes:4 (including 1 deleted nodes)\n'), 15_000)).toBe(true);
    expect(c.ctdb(0, ['nodestatus', 'all']).code).toBe(0);
    expect(c.ctdb(0, ['listnodes']).stdout).toBe(c.addresses.slice(0, 3).join('\n') + '\n');
  });
});
