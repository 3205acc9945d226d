import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster } from '../harness/cluster.js';

const built = existsSync(join(DIST, 'ctdbd.js')) && existsSync(join(DIST, 'ctdb-eventd.js'));

describe.skipIf(!built)('event daemon wired into ctdbd: monitor health and notifications', () => {
  const c = new LocalCluster({ nodes: 3, firstOctet: 5 });
  const flag = join(c.base(1), 'service-down');
  const notes = join(c.base(1), 'notifications');

  beforeAll(async () => {
    for (let pnn = 0; pnn < 3; pnn++) {
      const script = join(c.base(pnn), 'events/legacy/50.service.script');
      writeFileSync(script, [
        '#!/bin/sh',
        'case "$1" in',
        `monitor) if [ -e "$CTDB_BASE/service-down" ]; then echo "service is down"; exit 1; fi ;;`,
        'esac',
        'exit 0', '',
      ].join('\n'));
      chmodSync(script, 0o755);
      const notify = join(c.base(pnn), 'notify.sh');
      writeFileSync(notify, `#!/bin/sh\necho "$1" >> "$CTDB_BASE/notifications"\n`);
      chmodSync(notify, 0o755);
    }
    c.startAll();
    expect(await c.waitAllOk(0, 60_000)).toBe(true);
  });
  afterAll(async () => { await c.stop(); });

  const statusOf = (from: number, pnn: number): string =>
    (c.ctdb(from, ['nodestatus', 'all']).stdout.split('\n').find((l) => l.startsWith(`pnn:${pnn} `)) ?? '')
      .replace(/^pnn:\d+ \S+\s+/, '').replace(' (THIS NODE)', '');

  it('ran init, setup and startup notifications on every node', async () => {
    expect(await c.waitFor(() => existsSync(notes) && readFileSync(notes, 'utf8').includes('startup'), 10_000)).toBe(true);
    expect(readFileSync(notes, 'utf8')).toMatch(/^init\nsetup\nstartup\n/);
  });

  it('a failing monitor script makes the node UNHEALTHY everywhere, and it recovers', async () => {
    writeFileSync(flag, '');
    for (const from of [0, 1, 2]) expect(await c.waitFor(() => statusOf(from, 1) === 'UNHEALTHY', 20_000)).toBe(true);
    expect(await c.waitFor(() => readFileSync(notes, 'utf8').includes('unhealthy'), 10_000)).toBe(true);
    const st = c.ctdb(1, ['event', 'status', 'legacy', 'monitor']);
    expect(st.stdout).toMatch(/^50\.service\s+ERROR\s+\d+\.\d{3} /m);
    expect(st.stdout).toContain('OUTPUT: service is down');
    expect(st.code).toBe(1);
    rmSync(flag);
    for (const from of [0, 1, 2]) expect(await c.waitFor(() => statusOf(from, 1) === 'OK', 20_000)).toBe(true);
    expect(await c.waitFor(() => /\nhealthy\n/.test(readFileSync(notes, 'utf8')), 10_000)).toBe(true);
  });

  it('scriptstatus and event script list/disable/enable work through ctdb', async () => {
    expect(c.ctdb(1, ['scriptstatus']).stdout).toMatch(/^50\.service\s+OK\s/m);
    expect(c.ctdb(1, ['event', 'script', 'list', 'legacy']).stdout).toContain('* 50.service');
    writeFileSync(flag, '');
    expect(await c.waitFor(() => statusOf(0, 1) === 'UNHEALTHY', 20_000)).toBe(true);
    expect(c.ctdb(1, ['event', 'script', 'disable', 'legacy', '50.service']).code).toBe(0);
    expect(await c.waitFor(() => statusOf(0, 1) === 'OK', 20_000)).toBe(true);
    expect(c.ctdb(1, ['event', 'script', 'enable', 'legacy', '50.service']).code).toBe(0);
    rmSync(flag);
  });

  it('ctdb event run reports an unknown event as an error', () => {
    const r = c.ctdb(0, ['event', 'run', '10', 'legacy', 'nosuchevent']);
    expect(r.code).not.toBe(0);
  });
});
