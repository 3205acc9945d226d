// Benchmark of the libtdb binding: stores/s and fetches/s, sync and async, and RSS after loading.
// Run: npx tsx bench/tdb.ts [--records N] [--dir DIR] [--compare]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { TdbFile, robustMutexesSupported } from '../src/db/tdb.js';
import { persistentOpenFlags, tdbFlagNames, volatileOpenFlags } from '../src/db/tdb-flags.js';
import { encodeRecordValue } from '../src/db/ltdb.js';

const usage = `Usage: npx tsx bench/tdb.ts [--records N] [--dir DIR] [--compare]
Measures the TdbFile binding on a fresh TDB (hash size 100001, CTDB's default):
sync and async stores/s and fetches/s, traverse, one 100k-record transaction,
and the process RSS after loading. --compare also runs Debian's
'tdbtool speed' (C, about 20 s) for reference.
`;

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    dir: { type: 'string' },
    compare: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) { process.stdout.write(usage); process.exit(0); }
const n = Number(values.records);
if (!Number.isInteger(n) || n <= 0) throw new Error(`--records must be a positive integer, not ${values.records}`);

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'tdb-bench-'));
const keys = Array.from({ length: n }, (_, i) => Buffer.from(`key-${i}`));
const value = encodeRecordValue({ rsn: 1n, dmaster: 0, flags: 0x10000 }, Buffer.alloc(100, 0x61));
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

function rate(label: string, count: number, fn: () => void): void {
  const t0 = process.hrtime.bigint();
  fn();
  report(label, count, t0);
}
async function rateAsync(label: string, count: number, fn: () => Promise<void>): Promise<void> {
  const t0 = process.hrtime.bigint();
  await fn();
  report(label, count, t0);
}
function report(label: string, count: number, t0: bigint): void {
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`  ${label.padEnd(34)} ${Math.round(count / s).toString().padStart(9)} ops/s  (${count} in ${s.toFixed(2)} s)\n`);
}

async function bench(name: string, flags: number): Promise<void> {
  process.stdout.write(`${name}: flags 0x${flags.toString(16)} (${tdbFlagNames(flags)}), ${n} records of ${value.length} bytes\n`);
  const path = join(dir, `${name}.tdb`);
  rmSync(path, { force: true });
  const rss0 = process.memoryUsage().rss;
  const t = TdbFile.open(path, { hashSize: 100001, tdbFlags: flags });
  try {
    rate('store (sync, new keys)', n, () => { for (const k of keys) t.store(k, value); });
    process.stdout.write(`  RSS after loading: ${mb(process.memoryUsage().rss)} (+${mb(process.memoryUsage().rss - rss0)})\n`);
    rate('fetch (sync)', n, () => { for (const k of keys) if (!t.fetch(k)) throw new Error('missing record'); });
    rate('store (sync, replace)', n, () => { for (const k of keys) t.store(k, value); });
    let seen = 0;
    rate('traverse (records)', n, () => { seen = t.traverse(() => undefined); });
    if (seen !== n) throw new Error(`traverse saw ${seen} of ${n}`);
    const m = Math.min(n, 20000);
    await rateAsync(`store (async, awaited one by one)`, m, async () => { for (let i = 0; i < m; i++) await t.storeAsync(keys[i]!, value); });
    await rateAsync(`fetch (async, awaited one by one)`, m, async () => { for (let i = 0; i < m; i++) await t.fetchAsync(keys[i]!); });
    await rateAsync(`fetch (async, 1000 in flight)`, m, async () => {
      for (let i = 0; i < m; i += 1000) await Promise.all(keys.slice(i, i + 1000).map((k) => t.fetchAsync(k)));
    });
    rate('store (one transaction)', n, () => t.transaction(() => { for (const k of keys) t.store(k, value); }));
    rate('delete (sync)', n, () => { for (const k of keys) t.delete(k); });
    process.stdout.write(`  RSS at end: ${mb(process.memoryUsage().rss)}\n`);
  } finally {
    t.close();
    rmSync(path, { force: true });
  }
}

await bench('volatile', volatileOpenFlags(robustMutexesSupported()));
await bench('persistent', persistentOpenFlags());
if (values.compare) {
  process.stdout.write('Debian tdbtool speed (C, same libtdb, default hash size):\n');
  const path = join(dir, 'tdbtool-speed.tdb');
  const out = execFileSync('tdbtool', [], { input: `create ${path}\nspeed\nquit\n`, encoding: 'utf8' });
  for (const line of out.split('\n')) if (/Testing|ops\/sec/.test(line)) process.stdout.write(`  ${line.replace(/tdb> /g, '').trim()}\n`);
}
if (!values.dir) rmSync(dir, { recursive: true, force: true });
