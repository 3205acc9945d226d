// Files we write are read by Debian's tdbdump, tdbtool and ltdbtool; files tdbtool writes are read by us.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TdbFile, robustMutexesSupported } from '../../src/db/tdb.js';
import { persistentOpenFlags, volatileOpenFlags } from '../../src/db/tdb-flags.js';
import { decodeRecordValue, readRecord, writeRecord, type LtdbHeader } from '../../src/db/ltdb.js';

function has(tool: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }); return true; } catch { return false; }
}
const haveTdbTools = has('tdbdump') && has('tdbtool');
const haveLtdbtool = has('ltdbtool');

const dir = mkdtempSync(join(tmpdir(), 'tdb-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Decodes the `"…"` strings tdbdump and ltdbtool print: printable bytes as-is, others as `\XX`. */
function unescapeDump(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') { out.push(parseInt(s.slice(i + 1, i + 3), 16)); i += 2; } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

interface DumpEntry { key: Buffer; data: Buffer; fields: Record<string, string> }
/** Parses `{ key(n) = "…" [name: value …] data(n) = "…" }` blocks. */
function parseDump(text: string): DumpEntry[] {
  const entries: DumpEntry[] = [];
  for (const block of text.split(/^\{$/m).slice(1)) {
    const key = /^key\((\d+)\) = "(.*)"$/m.exec(block);
    const data = /^data\((\d+)\) = "(.*)"$/m.exec(block);
    if (!key || !data) throw new Error(`unparsed dump block: ${block}`);
    const fields: Record<string, string> = {};
    for (const m of block.matchAll(/^(\w+): (.*)$/gm)) fields[m[1]!] = m[2]!;
    const e = { key: unescapeDump(key[2]!), data: unescapeDump(data[2]!), fields };
    expect(e.key.length).toBe(Number(key[1]));
    expect(e.data.length).toBe(Number(data[1]));
    entries.push(e);
  }
  return entries;
}

const samples: Array<{ key: Buffer; header: LtdbHeader; data: Buffer }> = [
  { key: Buffer.from('k1'), header: { rsn: 7n, dmaster: 0, flags: 0x00010000 }, data: Buffer.from('v1') },
  { key: Buffer.from('key\0two'), header: { rsn: 0x1234567890n, dmaster: 3, flags: 0x01000000 }, data: Buffer.from('quote" back\\ tab\t') },
  { key: Buffer.from('__db_sequence_number__\0'), header: { rsn: 1n, dmaster: 1, flags: 0 }, data: Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]) },
  { key: Buffer.from([0xff, 0x80, 0x01]), header: { rsn: 0xffffffffffffffffn, dmaster: 0xfffffffe, flags: 0x0f070003 }, data: Buffer.alloc(0) },
];

const kinds = [
  ['persistent', persistentOpenFlags()],
  ['volatile', volatileOpenFlags(robustMutexesSupported())],
] as const;
let seq = 0;

function writeSamples(flags: number): string {
  const path = join(dir, `ours${seq++}.tdb`);
  const t = TdbFile.open(path, { hashSize: 131, tdbFlags: flags });
  for (const s of samples) writeRecord(t, s.key, s.header, s.data);
  t.close();
  return path;
}
const byKey = (entries: DumpEntry[], key: Buffer): DumpEntry | undefined => entries.find((e) => e.key.equals(key));

describe.each(kinds)('Debian tools read our %s files', (_kind, flags) => {
  it.skipIf(!haveTdbTools)('tdbdump shows every record with our ltdb header in front (needs tdb-tools)', () => {
    const entries = parseDump(execFileSync('tdbdump', [writeSamples(flags)], { encoding: 'latin1' }));
    expect(entries).toHaveLength(samples.length);
    for (const s of samples) {
      const e = byKey(entries, s.key);
      expect(e, s.key.toString('hex')).toBeDefined();
      expect(e!.data.length).toBe(24 + s.data.length);
      expect(decodeRecordValue(e!.data)).toEqual({ header: s.header, data: s.data });
      expect(e!.data.subarray(12, 16)).toEqual(Buffer.alloc(4));
      expect(e!.data.subarray(20, 24)).toEqual(Buffer.alloc(4));
    }
  });

  it.skipIf(!haveTdbTools)('tdbtool check finds the file sound (needs tdb-tools)', () => {
    const out = execFileSync('tdbtool', [], { input: `open ${writeSamples(flags)}\ncheck\nquit\n`, encoding: 'utf8' });
    expect(out).toContain(`integrity is OK and has ${samples.length} records`);
  });

  it.skipIf(!haveLtdbtool)('ltdbtool -p -e dump decodes our headers (needs the ctdb package)', () => {
    const entries = parseDump(execFileSync('ltdbtool', ['-p', '-e', 'dump', writeSamples(flags)], { encoding: 'latin1' }));
    expect(entries).toHaveLength(samples.length);
    for (const s of samples) {
      const e = byKey(entries, s.key)!;
      expect(e.data).toEqual(s.data);
      expect(BigInt(e.fields.rsn!)).toBe(s.header.rsn);
      // ltdbtool prints dmaster as a signed int.
      expect(Number(e.fields.dmaster) >>> 0).toBe(s.header.dmaster);
      expect(Number(e.fields.flags)).toBe(s.header.flags);
    }
  });
});

describe('we read files Debian tools write', () => {
  it.skipIf(!haveTdbTools)('reads tdbtool records, adds one, and tdbdump sees both (needs tdb-tools)', () => {
    const path = join(dir, 'theirs.tdb');
    execFileSync('tdbtool', [], { input: `create ${path}\nstore alpha one\nstore beta two\ndelete beta\nstore gamma three\nquit\n` });
    const t = TdbFile.open(path, { check: true });
    expect(t.keys().map(String).sort()).toEqual(['alpha', 'gamma']);
    expect(t.fetch(Buffer.from('alpha'))).toEqual(Buffer.from('one'));
    expect(t.fetch(Buffer.from('beta'))).toBeUndefined();
    writeRecord(t, Buffer.from('delta'), { rsn: 2n, dmaster: 1, flags: 0 }, Buffer.from('four'));
    t.close();
    const entries = parseDump(execFileSync('tdbdump', [path], { encoding: 'latin1' }));
    expect(entries.map((e) => e.key.toString()).sort()).toEqual(['alpha', 'delta', 'gamma']);
    expect(decodeRecordValue(byKey(entries, Buffer.from('delta'))!.data)!.data).toEqual(Buffer.from('four'));
  });

  it.skipIf(!haveLtdbtool)('reads a file ltdbtool converted, headers intact (needs the ctdb package)', () => {
    const src = writeSamples(persistentOpenFlags());
    const dst = join(dir, 'converted.tdb');
    execFileSync('ltdbtool', ['-e', 'convert', src, dst]);
    const t = TdbFile.open(dst, { check: true });
    for (const s of samples) expect(readRecord(t, s.key)).toEqual({ header: s.header, data: s.data });
    t.close();
  });
});
