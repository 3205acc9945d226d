/**
 * Pure parsing for `ctdb ip connection` batches and the classic
 * addtickle/deltickle stdin mode: endpoint pairs, `add`/`del` lines, and
 * which endpoint of a pair is the public (server) address.
 */
import { parseIpPort, type IpPort } from '../common/address.js';
import { CtdbError } from '../common/errors.js';

/** A connection as the daemon tracks it: client endpoint, server (public IP) endpoint. */
export interface ClientServer { client: IpPort; server: IpPort }

/** One parsed batch line. */
export interface BatchLine { op: 'add' | 'del'; a: IpPort; b: IpPort; line: number }

const bad = (line: number, msg: string): CtdbError => new CtdbError('EINVAL', `line ${line}: ${msg}`, { exitCode: 22 });

function parsePair(fields: string[], line: number): [IpPort, IpPort] {
  if (fields.length !== 2) throw bad(line, `expected two endpoints ADDRESS:PORT ADDRESS:PORT, got ${fields.length} field(s)`);
  let a: IpPort; let b: IpPort;
  try { a = parseIpPort(fields[0]!); b = parseIpPort(fields[1]!); } catch (err) {
    throw bad(line, (err as Error).message);
  }
  if (a.family !== b.family) throw bad(line, `endpoints ${fields[0]} and ${fields[1]} are of different address families`);
  return [a, b];
}

/**
 * Parses batch text. With `fixedOp` each line is `ENDPOINT ENDPOINT`;
 * without, each line is `add|del ENDPOINT ENDPOINT`. Blank lines and lines
 * starting with `#` are skipped. The whole text is checked before anything
 * is returned: the first bad line throws CtdbError EINVAL `line N: …`.
 */
export function parseBatch(text: string, fixedOp?: 'add' | 'del'): BatchLine[] {
  const out: BatchLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('#')) continue;
    const fields = t.split(/\s+/);
    let op = fixedOp;
    if (op === undefined) {
      const w = fields.shift()!;
      if (w !== 'add' && w !== 'del') throw bad(i + 1, `unknown command '${w}' (use add or del)`);
      op = w;
    }
    const [a, b] = parsePair(fields, i + 1);
    out.push({ op, a, b, line: i + 1 });
  }
  return out;
}

/**
 * Decides which endpoint is the server: the one whose address is in
 * `publicIps`. Throws CtdbError EINVAL naming the line when neither or both
 * are public addresses.
 */
export function classify(l: { a: IpPort; b: IpPort; line: number }, publicIps: ReadonlySet<string>): ClientServer {
  const aPub = publicIps.has(l.a.address);
  const bPub = publicIps.has(l.b.address);
  if (aPub && !bPub) return { server: l.a, client: l.b };
  if (bPub && !aPub) return { server: l.b, client: l.a };
  if (!aPub) throw bad(l.line, `neither ${l.a.address} nor ${l.b.address} is a public address of this node`);
  throw bad(l.line, `both ${l.a.address} and ${l.b.address} are public addresses; cannot tell the server`);
}
