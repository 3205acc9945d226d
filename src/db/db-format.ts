/**
 * Pure formatters for the database commands (cli.md §4): dbmap listings,
 * record dumps (catdb/cattdb), dbstatistics, and the `ptrans` input parser.
 */
import { CtdbError } from '../common/errors.js';
import { DbFlag } from '../protocol/constants.js';
import type { DbStatistics, LatencyCounter, LtdbHeader } from '../protocol/payloads.js';
import { recordFlagNames } from './ltdb.js';

/** One row of `getdbmap`. */
export interface DbRow { id: number; name: string; path: string; flags: number; health: string }

const hex8 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** `getdbmap` human output. */
export function formatDbmap(rows: DbRow[]): string {
  let out = `Number of databases:${rows.length}\n`;
  for (const r of rows) {
    out += `dbid:0x${hex8(r.id)} name:${r.name} path:${r.path}`
      + (r.flags & DbFlag.PERSISTENT ? ' PERSISTENT' : '') + (r.flags & DbFlag.STICKY ? ' STICKY' : '')
      + (r.flags & DbFlag.READONLY ? ' READONLY' : '') + (r.flags & DbFlag.REPLICATED ? ' REPLICATED' : '')
      + (r.health !== '' ? ' UNHEALTHY' : '') + '\n';
  }
  return out;
}

/** `getdbmap -Y/-X` output with separator `sep`. */
export function formatDbmapMachine(rows: DbRow[], sep: string): string {
  const line = (f: string[]): string => `${sep}${f.join(sep)}${sep}\n`;
  const b = (v: boolean): string => (v ? '1' : '0');
  return line(['ID', 'Name', 'Path', 'Persistent', 'Sticky', 'Unhealthy', 'Readonly', 'Replicated'])
    + rows.map((r) => line([`0x${hex8(r.id).toUpperCase()}`, r.name, r.path, b((r.flags & DbFlag.PERSISTENT) !== 0),
      b((r.flags & DbFlag.STICKY) !== 0), b(r.health !== ''), b((r.flags & DbFlag.READONLY) !== 0), b((r.flags & DbFlag.REPLICATED) !== 0)])).join('');
}

/** `getdbstatus` output. */
export function formatDbStatus(r: DbRow): string {
  return `dbid: 0x${hex8(r.id)}\nname: ${r.name}\npath: ${r.path}\n`
    + `PERSISTENT: ${yesNo((r.flags & DbFlag.PERSISTENT) !== 0)}\nREPLICATED: ${yesNo((r.flags & DbFlag.REPLICATED) !== 0)}\n`
    + `STICKY: ${yesNo((r.flags & DbFlag.STICKY) !== 0)}\nREADONLY: ${yesNo((r.flags & DbFlag.READONLY) !== 0)}\n`
    + `HEALTH: ${r.health === '' ? 'OK' : r.health}\n`;
}

/** Bytes as catdb prints them: printable ASCII except `"` and `\` verbatim, the rest `\XX`. */
export function escapeBytes(b: Buffer): string {
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\${c.toString(16).toUpperCase().padStart(2, '0')}`;
  return s;
}

/** One record block of catdb/cattdb (ending with a blank line). */
export function formatRecord(key: Buffer, header: LtdbHeader, data: Buffer): string {
  return `key(${key.length}) = "${escapeBytes(key)}"\ndmaster: ${header.dmaster}\nrsn: ${header.rsn}\n`
    + `flags: 0x${hex8(header.flags)}${recordFlagNames(header.flags)}\ndata(${data.length}) = "${escapeBytes(data)}"\n\n`;
}

function latencyLine(name: string, l: LatencyCounter): string {
  const avg = l.num > 0 ? l.total / l.num : 0;
  return ` ${name.padEnd(18)} MIN/AVG/MAX     ${l.min.toFixed(6)}/${avg.toFixed(6)}/${l.max.toFixed(6)} sec out of ${l.num}\n`;
}

/** `dbstatistics` output. */
export function formatDbStatistics(name: string, s: DbStatistics): string {
  const v = (label: string, n: number): string => `${label.padEnd(27)}${String(n).padStart(10)}\n`;
  let out = `DB Statistics ${name}\n`;
  out += v(' db_ro_delegations', s.dbRoDelegations) + v(' db_ro_revokes', s.dbRoRevokes) + ' locks\n';
  out += v('     num_calls', s.locks.numCalls) + v('     num_current', s.locks.numCurrent)
    + v('     num_pending', s.locks.numPending) + v('     num_failed', s.locks.numFailed);
  out += ` hop_count_buckets:${s.hopCountBucket.map((b) => ` ${b}`).join('')}\n`;
  out += ` lock_buckets:${s.locks.buckets.map((b) => ` ${b}`).join('')}\n`;
  out += latencyLine('locks_latency', s.locks.latency) + latencyLine('vacuum_latency', s.vacuum.latency);
  out += ` Num Hot Keys:     ${s.numHotKeys}\n`;
  for (let i = 0; i < s.numHotKeys; i++) {
    const k = s.hotKeys[i];
    out += `     Count:${k?.count ?? 0} Key:${k ? k.key.toString('hex') : ''}\n`;
  }
  return out;
}

/** Decodes a command-line key or value: `0x…` is hex, anything else its UTF-8 bytes. */
export function parseDatum(s: string): Buffer {
  if (/^0x([0-9a-fA-F]{2})*$/.test(s) && s.length > 2) return Buffer.from(s.slice(2), 'hex');
  return Buffer.from(s, 'utf8');
}

/** One `ptrans` line: key and value (empty value = delete). */
export interface PtransEntry { key: Buffer; value: Buffer; line: number }

/** Longest ptrans line accepted (characters). */
export const PTRANS_MAX_LINE = 1023;

/**
 * Parses `ptrans` input: per line, optional blanks, `"KEY"`, optional blanks,
 * `"VALUE"`; no escapes; a quoted `0x…` string is hex. Blank lines are
 * skipped. Throws EINVAL naming the first bad line (nothing is returned then).
 */
export function parsePtrans(text: string): PtransEntry[] {
  const out: PtransEntry[] = [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    if (line.length > PTRANS_MAX_LINE) throw new CtdbError('EINVAL', `ptrans: line ${n} is longer than ${PTRANS_MAX_LINE} characters`);
    const m = /^[ \t]*"([^"]*)"[ \t]*"([^"]*)"[ \t]*$/.exec(line);
    if (!m) throw new CtdbError('EINVAL', `ptrans: cannot parse line ${n}: expected "KEY" "VALUE"`);
    let key: Buffer; let value: Buffer;
    try { key = quotedDatum(m[1]!); value = quotedDatum(m[2]!); } catch (err) {
      throw new CtdbError('EINVAL', `ptrans: line ${n}: ${(err as Error).message}`);
    }
    if (key.length === 0) throw new CtdbError('EINVAL', `ptrans: line ${n}: empty key`);
    out.push({ key, value, line: n });
  });
  return out;
}

function quotedDatum(s: string): Buffer {
  if (s.startsWith('0x')) {
    if (!/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`bad hex string "${s}"`);
    return Buffer.from(s.slice(2), 'hex');
  }
  return Buffer.from(s, 'utf8');
}
