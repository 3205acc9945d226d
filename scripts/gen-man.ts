// Regenerates man/ctdb.1 from man/src/ctdb.1.{head,tail} and the command table
// in src/cli/main.ts, so the page lists every command the tool has.
// Usage: npx tsx scripts/gen-man.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../src/cli/main.js';

const root = join(new URL('.', import.meta.url).pathname, '..');
const esc = (s: string): string => s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^\./, '\\&.').replace(/^'/, "\\&'");

/** The generated page text. */
export function renderCtdbMan(): string {
  const head = readFileSync(join(root, 'man/src/ctdb.1.head'), 'utf8');
  const tail = readFileSync(join(root, 'man/src/ctdb.1.tail'), 'utf8');
  let body = '';
  for (const c of COMMANDS) {
    body += `.TP\n.B ${esc(c.name)}${c.args ? ` ${esc(c.args)}` : ''}\n${esc(c.help)}.`;
    const notes: string[] = [];
    if (!c.daemon) notes.push('Works without a running daemon');
    if (!c.remote) notes.push('Local node only');
    body += notes.length ? ` ${notes.join('; ')}.\n` : '\n';
  }
  return head + body + tail;
}

const out = renderCtdbMan();
if (process.argv.includes('--check')) {
  if (readFileSync(join(root, 'man/ctdb.1'), 'utf8') !== out) {
    process.stderr.write('man/ctdb.1 is out of date: run npx tsx scripts/gen-man.ts\n');
    process.exitCode = 1;
  }
} else {
  writeFileSync(join(root, 'man/ctdb.1'), out);
}
