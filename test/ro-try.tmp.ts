import { LocalCluster } from './harness/cluster.js';
const c = new LocalCluster({ nodes: 3, firstOctet: 94, keep: true } as any);
c.startAll();
const ok = await c.waitAllOk(0, 40_000);
console.log('ok', ok, c.dir);
for (const p of [0,1,2]) console.log(c.ctdb(p, ['status']).stdout);
await c.stop();
