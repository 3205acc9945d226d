import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtdbError } from './errors.js';
import {
  CONFIG_OPTIONS, formatConfig, getConfigText, loadConfig, parseConfig, parseConfigBoolean,
  parseConfigFile, parseConfigInteger,
} from './config.js';
import { resolvePaths } from './paths.js';

const base = mkdtempSync(join(tmpdir(), 'ctdb-config-test-'));
writeFileSync(join(base, 'debug_locks.sh'), '#!/bin/sh\n');
const paths = resolvePaths({ CTDB_TEST_MODE: 'yes', CTDB_BASE: base });
afterAll(() => rmSync(base, { recursive: true, force: true }));

const parse = (text: string) => parseConfig(text, 'c.conf', paths);

describe('parseConfig defaults', () => {
  it('fills every option from the spec table', () => {
    expect(parse('')).toEqual({
      logging: { location: `file:${base}/log.ctdb`, logLevel: 'NOTICE' },
      cluster: { transport: 'tcp', nodesList: `${base}/nodes`, leaderTimeout: 5, leaderCapability: true },
      database: {
        volatileDir: `${base}/var/volatile`, persistentDir: `${base}/var/persistent`,
        stateDir: `${base}/var/state`, tdbMutexes: true,
      },
      event: {},
      failover: { disabled: false, shutdownExtraTimeout: 0, shutdownFailoverTimeout: 10 },
      legacy: {
        realtimeScheduling: true, lmasterCapability: true, startAsStopped: false,
        startAsDisabled: false, scriptLogLevel: 'ERROR',
      },
    });
  });

  it('uses Debian log and database folders outside test mode', () => {
    const c = parseConfig('', 'c', resolvePaths({}));
    expect(c.logging.location).toBe('file:/var/log/ctdb/log.ctdb');
    expect(c.database.volatileDir).toBe('/var/lib/ctdb/volatile');
    expect(c.cluster.nodesList).toBe('/etc/ctdb/nodes');
  });
});

describe('parseConfig values', () => {
  it.each([
    ['[logging]\nlocation = syslog:udp-rfc5424', (c: ReturnType<typeof parse>) => c.logging.location, 'syslog:udp-rfc5424'],
    ['[logging]\nlocation = file:/x/log', (c: ReturnType<typeof parse>) => c.logging.location, 'file:/x/log'],
    ['[logging]\nlog level = debug', (c: ReturnType<typeof parse>) => c.logging.logLevel, 'DEBUG'],
    ['[logging]\nlog level = 1', (c: ReturnType<typeof parse>) => c.logging.logLevel, 'WARNING'],
    ['[Cluster]\nNode   Address = 127.0.0.2', (c: ReturnType<typeof parse>) => c.cluster.nodeAddress, '127.0.0.2'],
    ['[cluster]\nnode address = FE80::0001', (c: ReturnType<typeof parse>) => c.cluster.nodeAddress, 'fe80::1'],
    ['[cluster]\ncluster lock = !/bin/helper a b', (c: ReturnType<typeof parse>) => c.cluster.clusterLock, '!/bin/helper a b'],
    ['[cluster]\nrecovery lock = /shared/lock', (c: ReturnType<typeof parse>) => c.cluster.clusterLock, '/shared/lock'],
    ['[cluster]\nrecovery lock = /a\ncluster lock = /b', (c: ReturnType<typeof parse>) => c.cluster.clusterLock, '/b'],
    ['[cluster]\nnodes list = !/bin/cat /x', (c: ReturnType<typeof parse>) => c.cluster.nodesList, '!/bin/cat /x'],
    ['[cluster]\nleader timeout = 0x10', (c: ReturnType<typeof parse>) => c.cluster.leaderTimeout, 16],
    ['[cluster]\nleader timeout = 010', (c: ReturnType<typeof parse>) => c.cluster.leaderTimeout, 8],
    ['[cluster]\nleader timeout = 3\nleader timeout = 4', (c: ReturnType<typeof parse>) => c.cluster.leaderTimeout, 4],
    ['[cluster]\nleader capability = No', (c: ReturnType<typeof parse>) => c.cluster.leaderCapability, false],
    ['[database]\nvolatile database directory = /v', (c: ReturnType<typeof parse>) => c.database.volatileDir, '/v'],
    ['[database]\npersistent database directory = /p', (c: ReturnType<typeof parse>) => c.database.persistentDir, '/p'],
    ['[database]\nstate database directory = /s', (c: ReturnType<typeof parse>) => c.database.stateDir, '/s'],
    ['[database]\nlock debug script = debug_locks.sh', (c: ReturnType<typeof parse>) => c.database.lockDebugScript, `${base}/debug_locks.sh`],
    ['[database]\ntdb mutexes = off', (c: ReturnType<typeof parse>) => c.database.tdbMutexes, false],
    ['[event]\ndebug script = /elsewhere/debug_locks.sh', (c: ReturnType<typeof parse>) => c.event.debugScript, `${base}/debug_locks.sh`],
    ['[failover]\ndisabled = 1', (c: ReturnType<typeof parse>) => c.failover.disabled, true],
    ['[failover]\nshutdown extra timeout = 7', (c: ReturnType<typeof parse>) => c.failover.shutdownExtraTimeout, 7],
    ['[failover]\nshutdown failover timeout = 0', (c: ReturnType<typeof parse>) => c.failover.shutdownFailoverTimeout, 0],
    ['[legacy]\nrealtime scheduling = false', (c: ReturnType<typeof parse>) => c.legacy.realtimeScheduling, false],
    ['[legacy]\nlmaster capability = no', (c: ReturnType<typeof parse>) => c.legacy.lmasterCapability, false],
    ['[legacy]\nstart as stopped = yes', (c: ReturnType<typeof parse>) => c.legacy.startAsStopped, true],
    ['[legacy]\nstart as disabled = TRUE', (c: ReturnType<typeof parse>) => c.legacy.startAsDisabled, true],
    ['[legacy]\nscript log level = INFO', (c: ReturnType<typeof parse>) => c.legacy.scriptLogLevel, 'INFO'],
    ['# comment\n; comment\n\n[legacy]\n  # indented comment\nscript log level = NOTICE\r\n', (c: ReturnType<typeof parse>) => c.legacy.scriptLogLevel, 'NOTICE'],
  ])('%j', (text, pick, want) => {
    expect(pick(parse(text))).toEqual(want);
  });

  it('warns about the deprecated recovery lock', () => {
    expect(parseConfigFile('[cluster]\n\nrecovery lock = /a\n', 'c.conf', paths).warnings)
      .toEqual(['c.conf:3: [cluster] -> "recovery lock" is deprecated, use "cluster lock"']);
  });
});

describe('parseConfig errors name file and line', () => {
  it.each([
    ['[bogus]\n', 'c.conf:1: unknown section [bogus]'],
    ['\nx = 1\n', 'c.conf:2: option "x" is outside any section'],
    ['[cluster]\nbogus = 1\n', 'c.conf:2: unknown option [cluster] -> "bogus"'],
    ['[cluster]\n\nnode address =\n', 'c.conf:3: empty value for [cluster] -> "node address"'],
    ['[cluster]\nnode address = notanip\n', 'c.conf:2: invalid value for [cluster] -> "node address"'],
    ['[cluster]\nnode address = 127.0.0.1 ; x\n', 'c.conf:2: invalid value'],
    ['[cluster]\ntransport = ib\n', 'c.conf:2: invalid value for [cluster] -> "transport" = "ib": transport \'ib\' is not supported'],
    ['[cluster]\nleader timeout = 0\n', 'c.conf:2: invalid value for [cluster] -> "leader timeout" = "0": must be greater than 0'],
    ['[cluster]\nleader timeout = -1\n', 'c.conf:2: invalid value'],
    ['[cluster]\nleader timeout = 7x\n', "c.conf:2: invalid value for [cluster] -> \"leader timeout\" = \"7x\": invalid integer '7x'"],
    ['[cluster]\nleader timeout = 0x100000000\n', 'out of range'],
    ['[cluster]\nleader capability = maybe\n', "c.conf:2: invalid value for [cluster] -> \"leader capability\" = \"maybe\": invalid boolean 'maybe'"],
    ['[logging]\nlog level = FOO\n', 'c.conf:2: invalid value for [logging] -> "log level"'],
    ['[logging]\nlocation = foo:bar\n', 'c.conf:2: invalid value for [logging] -> "location"'],
    ['[logging]\nlocation = file:\n', 'file: needs a path'],
    ['[legacy]\nscript log level = LOUD\n', 'c.conf:2: invalid value for [legacy] -> "script log level"'],
    ['[database]\nlock debug script = missing.sh\n', `c.conf:2: invalid value for [database] -> "lock debug script" = "missing.sh": script ${base}/missing.sh does not exist`],
    ['[event]\ndebug script = missing.sh\n', 'c.conf:2: invalid value for [event] -> "debug script"'],
    ['[failover]\nshutdown extra timeout = soon\n', 'c.conf:2: invalid value'],
    ['[cluster\n', 'c.conf:1: malformed section header'],
    ['[cluster]\nleader timeout\n', "c.conf:2: expected 'key = value'"],
  ])('%j', (text, msg) => {
    let err: unknown;
    try { parse(text); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CtdbError);
    expect((err as CtdbError).code).toBe('EINVAL');
    expect((err as Error).message).toContain(msg);
  });
});

describe('value parsers', () => {
  it.each([['yes', true], ['No', false], ['true', true], ['FALSE', false], ['on', true], ['off', false], ['1', true], ['0', false]])(
    'boolean %s', (t, want) => expect(parseConfigBoolean(t)).toBe(want));
  it.each(['', 'y', '2', 'enabled'])('boolean %j rejected', (t) => expect(() => parseConfigBoolean(t)).toThrow());
  it.each([['0', 0], ['10', 10], ['0x1F', 31], ['017', 15]])('integer %s', (t, want) => expect(parseConfigInteger(t)).toBe(want));
  it.each(['', '-1', '1.5', '08', 'x', '1e3'])('integer %j rejected', (t) => expect(() => parseConfigInteger(t)).toThrow());
});

describe('getConfigText', () => {
  const pc = parseConfigFile('[cluster]\nrecovery lock = /r\nleader timeout = 0x10\n[logging]\nlog level = info\n', 'c', paths);
  it.each([
    ['cluster', 'leader timeout', '16'],
    ['Cluster', 'Leader   Timeout', '16'],
    ['cluster', 'leader capability', 'true'],
    ['cluster', 'node address', ''],
    ['cluster', 'cluster lock', '/r'],
    ['cluster', 'recovery lock', '/r'],
    ['logging', 'log level', 'INFO'],
    ['database', 'lock debug script', ''],
  ])('[%s] %s', (s, k, want) => expect(getConfigText(pc.config, s, k, pc.values)).toBe(want));

  it('throws ENOENT for unknown options', () => {
    expect(() => getConfigText(pc.config, 'cluster', 'nope')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('knows every option of the table', () => {
    for (const o of CONFIG_OPTIONS) expect(() => getConfigText(pc.config, o.section, o.key)).not.toThrow();
  });
});

describe('formatConfig', () => {
  const text = '[cluster]\nnode address = 10.1.1.1\ncluster lock = !/bin/x y\n[legacy]\nstart as stopped = yes\n'
    + '[database]\nlock debug script = debug_locks.sh\n';
  it('round-trips the effective config', () => {
    const cfg = parse(text);
    expect(parse(formatConfig(cfg))).toEqual(cfg);
  });

  it('comments options not given in the file, like Debian', () => {
    const pc = parseConfigFile(text, 'c', paths);
    const out = formatConfig(pc.config, pc.values);
    expect(out).toContain('\tnode address = 10.1.1.1\n');
    expect(out).toContain('\t# leader timeout = 5\n');
    expect(out).toContain('\tstart as stopped = true\n');
    expect(out).toContain('\t# recovery lock = \n');
    expect(out.split('\n').filter((l) => l.startsWith('\t')).length).toBe(CONFIG_OPTIONS.length);
    expect(parse(out)).toEqual(pc.config);
  });
});

describe('loadConfig', () => {
  it('gives defaults when the file is missing', () => {
    const p = resolvePaths({ CTDB_TEST_MODE: 'yes', CTDB_BASE: join(base, 'none') });
    expect(loadConfig(p).cluster.leaderTimeout).toBe(5);
  });

  it('reads the file and reports its path in errors', () => {
    writeFileSync(paths.configFile, '[cluster]\nleader timeout = 9\n');
    expect(loadConfig(paths).cluster.leaderTimeout).toBe(9);
    writeFileSync(paths.configFile, '[cluster]\n\nleader timeout = x\n');
    expect(() => loadConfig(paths)).toThrow(`${paths.configFile}:3: `);
  });
});
