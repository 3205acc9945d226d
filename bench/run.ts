// `npm run bench [-- NAME...]`: runs the benchmarks one after another and prints
// their figures. Each bench/NAME.ts is standalone (`npx tsx bench/NAME.ts`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
/** Preferred order; any other bench/*.ts runs after these. */
const ORDER = ['startup', 'election', 'tdb', 'db', 'recovery', 'ipalloc', 'failover', 'killtcp'];
/** Benchmarks that need root (raw sockets, network namespaces). */
const NEEDS_ROOT = new Set(['killtcp', 'failover']);

const all = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'run.ts').map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = (wanted.length > 0 ? wanted : [...ORDER.filter((n) => all.includes(n)), ...all.filter((n) => !ORDER.includes(n)).sort()]);

let failed = 0;
for (const name of names) {
  const file = join(dir, `${name}.ts`);
  if (!existsSync(file)) { console.log(`\n## ${name}: no such benchmark`); failed++; continue; }
  if (NEEDS_ROOT.has(name) && process.getuid?.() !== 0) { console.log(`\n## ${name}: skipped (needs root)`); continue; }
  console.log(`\n## ${name}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit', cwd: join(dir, '..') });
  if (r.status !== 0) { console.log(`## ${name}: exited ${r.status}`); failed++; }
}
process.exitCode = failed > 0 ? 1 : 0;
