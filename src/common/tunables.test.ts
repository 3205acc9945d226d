import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TUNABLES, Tunables, parseTunableValue } from './tunables.js';

// The tunables table of spec/events-and-config.md §7 (Name | Default | idx | Meaning).
const SPEC_TABLE = `
| MaxRedirectCount | 3 | 1 | obsolete |
| SeqnumInterval | 1000 | 2 | ms between seqnum-change checks for DBs with seqnum enabled |
| ControlTimeout | 60 | 3 | default control timeout (s) |
| TraverseTimeout | 20 | 4 | s |
| KeepaliveInterval | 5 | 5 | s |
| KeepaliveLimit | 5 | 6 | missed intervals before DISCONNECTED |
| RecoverTimeout | 30 | 7 | control timeout in recovery (s) |
| RecoverInterval | 1 | 8 | recoverd loop period (s) |
| ElectionTimeout | 3 | 9 | s |
| TakeoverTimeout | 9 | 10 | s |
| MonitorInterval | 15 | 11 | s |
| TickleUpdateInterval | 20 | 12 | s |
| EventScriptTimeout | 30 | 13 | s (whole event) |
| MonitorTimeoutCount | 20 | 14 | consecutive monitor timeouts before unhealthy |
| EventScriptUnhealthyOnTimeout | 0 | 15 | obsolete |
| RecoveryGracePeriod | 120 | 16 | s before ban credits are forgiven |
| RecoveryBanPeriod | 300 | 17 | ban length (s) |
| DatabaseHashSize | 100001 | 18 | TDB hash size for new DBs |
| DatabaseMaxDead | 5 | 19 | TDB max dead records |
| RerecoveryTimeout | 10 | 20 | s to suppress recovery after one |
| EnableBans | 1 | 21 | |
| DeterministicIPs | 0 | 22 | obsolete |
| LCP2PublicIPs | 1 | 42 | obsolete |
| ReclockPingPeriod | 60 | 23 | obsolete |
| NoIPFailback | 0 | 24 | |
| DisableIPFailover | 0 | 25 | obsolete |
| VerboseMemoryNames | 0 | 26 | |
| RecdPingTimeout | 60 | 27 | s; recoverd must ping ctdbd |
| RecdFailCount | 10 | 28 | missed pings before recoverd restarted |
| LogLatencyMs | 0 | 29 | log calls slower than this (0=off) |
| RecLockLatencyMs | 1000 | 30 | warn threshold |
| RecoveryDropAllIPs | 120 | 31 | s |
| VerifyRecoveryLock | 1 | 32 | obsolete |
| VacuumInterval | 10 | 33 | s |
| VacuumMaxRunTime | 120 | 34 | s |
| RepackLimit | 10000 | 35 | freelist entries |
| VacuumLimit | 5000 | 36 | obsolete |
| VacuumFastPathCount | 60 | 41 | full vacuum every N runs |
| MaxQueueDropMsg | 1000000 | 37 | drop messages to client when its queue exceeds this |
| AllowUnhealthyDBRead | 0 | 38 | |
| StatHistoryInterval | 1 | 39 | s |
| DeferredAttachTO | 120 | 40 | s clients' attach deferred during recovery |
| AllowClientDBAttach | 1 | 43 | |
| RecoverPDBBySeqNum | 1 | 44 | obsolete |
| DeferredRebalanceOnNodeAdd | 300 | 45 | obsolete |
| FetchCollapse | 1 | 46 | |
| HopcountMakeSticky | 50 | 47 | |
| StickyDuration | 600 | 48 | s |
| StickyPindown | 200 | 49 | ms |
| NoIPTakeover | 0 | 50 | |
| DBRecordCountWarn | 100000 | 51 | |
| DBRecordSizeWarn | 10000000 | 52 | bytes |
| DBSizeWarn | 100000000 | 53 | bytes |
| PullDBPreallocation | 10485760 | 54 | bytes |
| NoIPHostOnAllDisabled | 1 | 55 | obsolete |
| Samba3AvoidDeadlocks | 0 | 56 | obsolete |
| TDBMutexEnabled | 1 | 57 | obsolete (use \`[database] tdb mutexes\`) |
| LockProcessesPerDB | 200 | 58 | |
| RecBufferSizeLimit | 1000000 | 59 | bytes per recovery push buffer |
| QueueBufferSize | 1024 | 60 | bytes initial read buffer |
| IPAllocAlgorithm | 2 | 61 | 0 det., 1 non-det., 2 LCP2 |
| AllowMixedVersions | 0 | 62 | |
`;
const SPEC_FILE = '/work/shared/spec/events-and-config.md';

const specRows = SPEC_TABLE.trim().split('\n').map((l) => {
  const [name, def, idx, meaning] = l.split('|').slice(1, 5).map((c) => c.trim()) as [string, string, string, string];
  return { name, defaultValue: Number(def), idx: Number(idx), obsolete: meaning.startsWith('obsolete') };
});

const dir = mkdtempSync(join(tmpdir(), 'ctdb-tunables-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TUNABLES', () => {
  it('matches the spec table row by row', () => {
    expect(specRows).toHaveLength(62);
    expect(TUNABLES).toEqual(specRows);
  });

  it.skipIf(!existsSync(SPEC_FILE))('embedded table equals the spec file (skipped: spec folder not present)', () => {
    expect(readFileSync(SPEC_FILE, 'utf8')).toContain(SPEC_TABLE.trim());
  });

  it('uses every wire position 1..62 once', () => {
    expect(TUNABLES.map((d) => d.idx).sort((a, b) => a - b)).toEqual(Array.from({ length: 62 }, (_, i) => i + 1));
  });
});

describe('Tunables', () => {
  it('starts from the defaults and lays them out by idx', () => {
    const t = new Tunables();
    const arr = t.toArray();
    expect(arr).toHaveLength(62);
    for (const r of specRows) expect(arr[r.idx - 1]).toBe(r.defaultValue);
    expect(arr[40]).toBe(60); // VacuumFastPathCount sits at 41
    expect(arr[41]).toBe(1); // LCP2PublicIPs sits at 42
  });

  it('gets and sets case-insensitively', () => {
    const t = new Tunables();
    expect(t.get('keepaliveINTERVAL')).toBe(5);
    expect(t.set('KEEPALIVEinterval', 1)).toBe('ok');
    expect(t.get('KeepaliveInterval')).toBe(1);
    expect(t.toArray()[4]).toBe(1);
    expect(t.canonicalName('ipallocalgorithm')).toBe('IPAllocAlgorithm');
    expect(t.canonicalName('nope')).toBeUndefined();
    expect(t.get('nope')).toBeUndefined();
  });

  it('accepts obsolete names with status obsolete and refuses unknown ones', () => {
    const t = new Tunables();
    expect(t.set('VacuumLimit', 7)).toBe('obsolete');
    expect(t.get('VacuumLimit')).toBe(7);
    expect(t.set('NoSuchThing', 1)).toBe('unknown');
    expect(() => t.set('MonitorInterval', -1)).toThrow(RangeError);
    expect(() => t.set('MonitorInterval', 2 ** 32)).toThrow(RangeError);
  });

  it('lists non-obsolete names in table order', () => {
    const names = new Tunables().names();
    expect(names).toEqual(specRows.filter((r) => !r.obsolete).map((r) => r.name));
    expect(names[0]).toBe('SeqnumInterval');
    expect(names).not.toContain('LCP2PublicIPs');
  });
});

describe('ctdb.tunables files', () => {
  it('applies Name=value lines, any case and base', () => {
    const t = new Tunables();
    t.applyText('# comment\nkeepaliveinterval=1\n  KeepaliveLimit = 0x2\n\nMonitorInterval=017\n', 'tun');
    expect([t.get('KeepaliveInterval'), t.get('KeepaliveLimit'), t.get('MonitorInterval')]).toEqual([1, 2, 15]);
  });

  it.each([
    ['KeepaliveInterval=1\n[s]\n', 'tun:2: sections are not allowed'],
    ['\nNoSuch=1\n', "tun:2: unknown tunable 'nosuch'"],
    ['VacuumLimit=1\n', 'tun:1: tunable VacuumLimit is obsolete'],
    ['KeepaliveInterval=\n', 'tun:1: empty value for tunable KeepaliveInterval'],
    ['KeepaliveInterval=five\n', "tun:1: tunable KeepaliveInterval: invalid value 'five'"],
    ['KeepaliveInterval=-1\n', 'tun:1: tunable KeepaliveInterval: invalid value'],
    ['KeepaliveInterval=0x100000000\n', 'does not fit in 32 bits'],
    ['KeepaliveInterval\n', "tun:1: expected 'key = value'"],
  ])('rejects %j', (text, msg) => {
    const t = new Tunables();
    expect(() => t.applyText('MonitorInterval=3\n' + text, 'tun')).toThrow();
    expect(() => t.applyText(text, 'tun')).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining(msg) }));
    expect(t.get('MonitorInterval')).toBe(15); // nothing applied from a bad file
  });

  it('loads a file and ignores a missing one', () => {
    const t = new Tunables();
    t.loadFile(join(dir, 'none'));
    expect(t.get('RecoverInterval')).toBe(1);
    const f = join(dir, 'ctdb.tunables');
    writeFileSync(f, 'RecoverInterval=4\n');
    t.loadFile(f);
    expect(t.get('RecoverInterval')).toBe(4);
    writeFileSync(f, 'RecoverInterval=4\nBad=1\n');
    expect(() => t.loadFile(f)).toThrow(`${f}:2: unknown tunable`);
  });

  it.each([['0', 0], ['4294967295', 4294967295], ['0xff', 255], ['010', 8]])('value %s', (v, want) => {
    expect(parseTunableValue(v)).toBe(want);
  });
});
