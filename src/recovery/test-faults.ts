/**
 * Test-only fault injection for recovery and vacuuming, off unless the
 * environment variable CTDB_TEST_FAULTS names a file. The file is read at
 * each fault point, so a test switches faults on and off while the daemons
 * run. One fault per line: `NAME [pnn=N] [ARG]` (no pnn = every node);
 * blank lines and `#` comments are ignored. Faults:
 *
 * - `pull-garbage` — ctdbd answers DB_PULL with a malformed rec_buffer
 *   (the recovery helper must blame that node and keep the others' records);
 * - `vacuum-stall MS` — a vacuum worker waits MS milliseconds after choosing
 *   what to delete and before its first generation check (so a test can
 *   start a recovery in the middle of a run).
 *
 * Each time a fault fires, `NAME pnn=N` is appended to `<file>.fired`, so a
 * test can wait for the moment it took effect.
 *
 * Documented in ctdb-recovery(7). Production daemons never set the variable.
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** Environment variable naming the fault file. */
export const FAULTS_ENV = 'CTDB_TEST_FAULTS';

/** One active fault. */
export interface Fault { name: string; pnn?: number; arg?: string }

/** Parses the fault file's text (pure); unknown words are kept, bad pnn= values skip the line. */
export function parseFaults(text: string): Fault[] {
  const out: Fault[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [name, ...rest] = line.split(/\s+/);
    const f: Fault = { name: name! };
    let ok = true;
    for (const w of rest) {
      const m = /^pnn=(\d+)$/.exec(w);
      if (m) f.pnn = Number(m[1]);
      else if (w.startsWith('pnn=')) ok = false;
      else f.arg = w;
    }
    if (ok) out.push(f);
  }
  return out;
}

/** Whether fault injection is enabled at all in this process. */
export function faultsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env[FAULTS_ENV]);
}

/** The fault `name` active for node `pnn` now, if any (never throws: an unreadable file means none). */
export function activeFault(name: string, pnn: number, env: NodeJS.ProcessEnv = process.env): Fault | undefined {
  const file = env[FAULTS_ENV];
  if (!file) return undefined;
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  return parseFaults(text).find((f) => f.name === name && (f.pnn === undefined || f.pnn === pnn));
}

/** Records that fault `name` fired on node `pnn` (appends to `<file>.fired`; errors ignored). */
export function noteFault(name: string, pnn: number, env: NodeJS.ProcessEnv = process.env): void {
  const file = env[FAULTS_ENV];
  if (!file) return;
  try { appendFileSync(`${file}.fired`, `${name} pnn=${pnn}\n`); } catch { /* test aid only */ }
}
