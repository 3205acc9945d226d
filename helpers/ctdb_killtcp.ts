import { CtdbError } from '../src/common/errors.js';
import { runMain } from '../src/common/main.js';
import { parseKillArgs, USAGE } from '../src/killtcp/args.js';
import { formatConnection, parseConnection, parseConnectionLines, type Connection } from '../src/killtcp/connections.js';
import { killConnections } from '../src/killtcp/killer.js';

async function readStdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function main(): Promise<number> {
  const args = parseKillArgs(process.argv.slice(2));
  if (args.kind === 'help') { process.stdout.write(USAGE); return 0; }
  let connections: Connection[];
  let badLines = 0;
  if (args.client !== undefined && args.server !== undefined) {
    connections = [parseConnection(args.client, args.server)];
  } else {
    const parsed = parseConnectionLines(await readStdinLines());
    for (const e of parsed.errors) process.stderr.write(`ctdb_killtcp: line ${e.line}: ${e.message}\n`);
    connections = parsed.connections;
    badLines = parsed.errors.length;
  }
  if (connections.length > 0) {
    const result = await killConnections(connections, { iface: args.iface });
    for (const c of result.notReset.slice(0, 10)) process.stderr.write(`ctdb_killtcp: not reset: ${formatConnection(c)}\n`);
    if (result.notReset.length > 0) {
      process.stderr.write(`ctdb_killtcp: ${result.notReset.length} of ${result.requested} connection(s) not reset after ${result.rounds} rounds\n`);
    }
  }
  if (badLines > 0) throw new CtdbError('EINVAL', `${badLines} invalid input line(s) skipped`);
  return 0;
}

void runMain('ctdb_killtcp', main);
