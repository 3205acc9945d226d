// The README demo: a 3-node cluster on 127.0.0.1-3 with temporary CTDB_BASE
// folders (no root needed). Prints `ctdb status`, shows a monitor failure
// turning a node UNHEALTHY and back, then stops every daemon.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster } from '../test/harness/cluster.js';

const say = (s: string): void => { process.stdout.write(`${s}\n`); };

async function main(): Promise<number> {
  const c = new LocalCluster({ nodes: 3 });
  try {
    for (let pnn = 0; pnn < 3; pnn++) {
      const script = join(c.base(pnn), 'events/legacy/50.demo.script');
      writeFileSync(script, '#!/bin/sh\ncase "$1" in\nmonitor) [ -e "$CTDB_BASE/down" ] && { echo "demo service is down"; exit 1; } ;;\nesac\nexit 0\n');
      chmodSync(script, 0o755);
    }
    say(`Starting 3 ctdbd daemons on ${c.addresses.join(', ')} (CTDB_BASE folders under ${c.dir})`);
    c.startAll();
    const t0 = Date.now();
    if (!(await c.waitAllOk(0, 60_000))) { say('cluster did not reach all-OK within 60 s'); return 1; }
    say(`All nodes OK after ${Date.now() - t0} ms.\n\n$ ctdb status`);
    await c.waitFor(() => !c.ctdb(0, ['status']).stdout.includes('Leader:UNKNOWN'), 10_000);
    process.stdout.write(c.ctdb(0, ['status']).stdout);

    say('\nMaking the demo service on node 1 fail its monitor check...');
    writeFileSync(join(c.base(1), 'down'), '');
    await c.waitFor(() => c.ctdb(0, ['nodestatus', '1']).stdout.includes('UNHEALTHY'), 30_000);
    say('$ ctdb nodestatus all');
    process.stdout.write(c.ctdb(0, ['nodestatus', 'all']).stdout);
    say('$ ctdb -n 1 scriptstatus   (run on node 1)');
    process.stdout.write(c.ctdb(1, ['scriptstatus']).stdout);
    rmSync(join(c.base(1), 'down'));
    await c.waitFor(() => c.ctdb(0, ['nodestatus', 'all']).code === 0, 30_000);
    say('\nService back; $ ctdb nodestatus all');
    process.stdout.write(c.ctdb(0, ['nodestatus', 'all']).stdout);
    return 0;
  } finally {
    say('\nStopping the cluster.');
    await c.stop();
  }
}

main().then((code) => { process.exitCode = code; }, (err) => { process.stderr.write(`demo: ${(err as Error).message}\n`); process.exitCode = 1; });
