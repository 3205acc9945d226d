import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STAT_BUCKETS } from '../protocol/statistics.js';
import {
  escapeBytes, formatDbStatistics, formatDbStatus, formatDbmap, formatDbmapMachine, formatRecord, parseDatum, parsePtrans,
} from './db-format.js';

/** stdout of a command captured from Debian's ctdb 4.17 (test/fixtures/golden). */
const golden = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../../test/fixtures/golden/${name}.json`, import.meta.url), 'utf8')) as { stdout: string }).stdout;

const goldenDir = /\/tmp\/ctdb-golden-[A-Za-z0-9]+/.exec(golden('getdbmap'))![0];

describe('database command formats match CTDB 4.17 captures', () => {
  it('getdbmap', () => {
    expect(formatDbmap([
      { id: 0x93d4dbdc, name: 'testpers.tdb', path: `${goldenDir}/node.0/db/persistent/testpers.tdb.0`, flags: 1, health: '' },
      { id: 0x10120015, name: 'testvol.tdb', path: `${goldenDir}/node.0/db/volatile/testvol.tdb.0`, flags: 0, health: '' },
    ])).toBe(golden('getdbmap'));
  });

  it('getdbstatus', () => {
    expect(formatDbStatus({ id: 0x10120015, name: 'testvol.tdb', path: `${goldenDir}/node.0/db/volatile/testvol.tdb.0`, flags: 0, health: '' }))
      .toBe(golden('getdbstatus'));
  });

  it('catdb record block', () => {
    const out = golden('catdb');
    expect(formatRecord(Buffer.from('k1'), { rsn: 2n, dmaster: 0, flags: 0 }, Buffer.from('v1')) + 'Dumped 1 records\n').toBe(out);
  });

  it('dbstatistics', () => {
    const zero = { num: 0, min: 0, max: 0, total: 0 };
    const hop = new Array<number>(STAT_BUCKETS).fill(0); hop[0] = 1;
    expect(formatDbStatistics('testvol.tdb', {
      locks: { numCalls: 0, numCurrent: 0, numPending: 0, numFailed: 0, latency: zero, buckets: new Array<number>(STAT_BUCKETS).fill(0) },
      vacuum: { latency: zero }, dbRoDelegations: 0, dbRoRevokes: 0, hopCountBucket: hop, numHotKeys: 10,
      hotKeys: [{ count: 1, key: Buffer.from('k1') }, { count: 1, key: Buffer.from('k2') }],
    })).toBe(golden('dbstatistics'));
  });

  it('getdbmap -X and flag suffixes', () => {
    const rows = [{ id: 0xab, name: 'a.tdb', path: '/p/a.tdb.0', flags: 0x02 | 0x04, health: 'frozen' }];
    expect(formatDbmapMachine(rows, '|')).toBe('|ID|Name|Path|Persistent|Sticky|Unhealthy|Readonly|Replicated|\n|0x000000AB|a.tdb|/p/a.tdb.0|0|1|1|1|0|\n');
    expect(formatDbmap(rows)).toBe('Number of databases:1\ndbid:0x000000ab name:a.tdb path:/p/a.tdb.0 STICKY READONLY UNHEALTHY\n');
  });
});

describe('byte escaping and arguments', () => {
  it('escapes quotes, backslashes and non-printable bytes as \\XX', () => {
    expect(escapeBytes(Buffer.from('a"b\\c\0\x7f~ '))).toBe('a\\22b\\5Cc\\00\\7F~ ');
  });
  it('reads 0x arguments as hex', () => {
    expect(parseDatum('0x6b31')).toEqual(Buffer.from('k1'));
    expect(parseDatum('0x')).toEqual(Buffer.from('0x'));
    expect(parseDatum('0xZZ')).toEqual(Buffer.from('0xZZ'));
    expect(parseDatum('plain')).toEqual(Buffer.from('plain'));
  });
});

describe('ptrans input', () => {
  it('parses quoted pairs, hex, blank lines and deletions', () => {
    expect(parsePtrans('"a" "1"\n\n  "b"\t"0x4142"  \r\n"c" ""\n')).toEqual([
      { key: Buffer.from('a'), value: Buffer.from('1'), line: 1 },
      { key: Buffer.from('b'), value: Buffer.from('AB'), line: 3 },
      { key: Buffer.from('c'), value: Buffer.alloc(0), line: 4 },
    ]);
  });
  it.each([
    ['"a" "1"\nbogus\n', 2],
    ['"a"\n', 1],
    ['"a" "1" extra\n', 1],
    ['"" "x"\n', 1],
    ['"ok" "1"\n"k" "0x4"\n', 2],
    [`"${'x'.repeat(1100)}" "1"\n`, 1],
  ])('refuses %j naming line %i', (text, line) => {
    expect(() => parsePtrans(text)).toThrow(new RegExp(`line ${line}`));
  });
});
