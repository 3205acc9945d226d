import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CtdbError } from './errors.js';
import { parseIni } from './ini.js';
import { parseDebugLevel, type DebugLevelName } from './debug-levels.js';
import { parseIp } from './address.js';
import type { CtdbPaths } from './paths.js';

/** The effective contents of ctdb.conf, every option filled in. */
export interface CtdbConfig {
  logging: { location: string; logLevel: DebugLevelName };
  cluster: {
    transport: string;
    nodeAddress?: string;
    /** `cluster lock`, or the deprecated `recovery lock` when only that is set. */
    clusterLock?: string;
    nodesList: string;
    /** Seconds. */
    leaderTimeout: number;
    leaderCapability: boolean;
  };
  database: {
    volatileDir: string;
    persistentDir: string;
    stateDir: string;
    /** Absolute path (`<base>/<name>`) of the script; it exists. */
    lockDebugScript?: string;
    tdbMutexes: boolean;
  };
  event: {
    /** Absolute path (`<base>/<name>`) of the script; it exists. */
    debugScript?: string;
  };
  failover: {
    disabled: boolean;
    /** Seconds. */
    shutdownExtraTimeout: number;
    /** Seconds. */
    shutdownFailoverTimeout: number;
  };
  legacy: {
    realtimeScheduling: boolean;
    lmasterCapability: boolean;
    startAsStopped: boolean;
    startAsDisabled: boolean;
    scriptLogLevel: DebugLevelName;
  };
}

/** Value kinds of ctdb.conf options. */
export const OptionType = { STRING: 'string', INTEGER: 'integer', BOOLEAN: 'boolean' } as const;
export type OptionType = (typeof OptionType)[keyof typeof OptionType];

/** One known ctdb.conf option. */
export interface ConfigOption {
  section: string;
  key: string;
  type: OptionType;
  /** Default as text; undefined = unset. */
  defaultText: (paths: CtdbPaths) => string | undefined;
  /** Throws a plain Error whose message says what is wrong; may return a canonical value. */
  check?: (value: string, paths: CtdbPaths) => void;
}

const LOCATIONS = ['syslog', 'syslog:nonblocking', 'syslog:udp', 'syslog:udp-rfc5424'];

function checkLocation(v: string): void {
  if (v.startsWith('file:')) {
    if (v.length === 5) throw new Error('file: needs a path');
    return;
  }
  if (!LOCATIONS.includes(v)) {
    throw new Error(`must be file:PATH, ${LOCATIONS.join(', ')}`);
  }
}

function checkScript(v: string, paths: CtdbPaths): void {
  const p = join(paths.base, basename(v));
  if (!existsSync(p)) throw new Error(`script ${p} does not exist`);
}

const positive = (v: string): void => {
  if (parseConfigInteger(v) <= 0) throw new Error('must be greater than 0');
};

/** Every option in ctdb.conf, in dump order. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = [
  { section: 'logging', key: 'location', type: 'string', defaultText: (p) => `file:${join(p.logdir, 'log.ctdb')}`, check: checkLocation },
  { section: 'logging', key: 'log level', type: 'string', defaultText: () => 'NOTICE', check: (v) => { parseDebugLevel(v); } },
  { section: 'cluster', key: 'transport', type: 'string', defaultText: () => 'tcp',
    check: (v) => { if (v !== 'tcp') throw new Error(`transport '${v}' is not supported (only tcp)`); } },
  { section: 'cluster', key: 'node address', type: 'string', defaultText: () => undefined, check: (v) => { parseIp(v); } },
  { section: 'cluster', key: 'cluster lock', type: 'string', defaultText: () => undefined },
  { section: 'cluster', key: 'recovery lock', type: 'string', defaultText: () => undefined },
  { section: 'cluster', key: 'nodes list', type: 'string', defaultText: (p) => p.nodesFile },
  { section: 'cluster', key: 'leader timeout', type: 'integer', defaultText: () => '5', check: positive },
  { section: 'cluster', key: 'leader capability', type: 'boolean', defaultText: () => 'true' },
  { section: 'database', key: 'volatile database directory', type: 'string', defaultText: (p) => join(p.vardir, 'volatile') },
  { section: 'database', key: 'persistent database directory', type: 'string', defaultText: (p) => join(p.vardir, 'persistent') },
  { section: 'database', key: 'state database directory', type: 'string', defaultText: (p) => join(p.vardir, 'state') },
  { section: 'database', key: 'lock debug script', type: 'string', defaultText: () => undefined, check: checkScript },
  { section: 'database', key: 'tdb mutexes', type: 'boolean', defaultText: () => 'true' },
  { section: 'event', key: 'debug script', type: 'string', defaultText: () => undefined, check: checkScript },
  { section: 'failover', key: 'disabled', type: 'boolean', defaultText: () => 'false' },
  { section: 'failover', key: 'shutdown extra timeout', type: 'integer', defaultText: () => '0' },
  { section: 'failover', key: 'shutdown failover timeout', type: 'integer', defaultText: () => '10' },
  { section: 'legacy', key: 'realtime scheduling', type: 'boolean', defaultText: () => 'true' },
  { section: 'legacy', key: 'lmaster capability', type: 'boolean', defaultText: () => 'true' },
  { section: 'legacy', key: 'start as stopped', type: 'boolean', defaultText: () => 'false' },
  { section: 'legacy', key: 'start as disabled', type: 'boolean', defaultText: () => 'false' },
  { section: 'legacy', key: 'script log level', type: 'string', defaultText: () => 'ERROR', check: (v) => { parseDebugLevel(v); } },
  // An addition to CTDB: Prometheus endpoint of ctdbd (src/daemon/metrics.ts), ADDRESS:PORT.
  { section: 'metrics', key: 'listen', type: 'string', defaultText: () => undefined, check: checkListen },
];

function checkListen(v: string): void {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(v);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new Error('must be ADDRESS:PORT, e.g. 127.0.0.1:9479 or [::1]:9479');
  parseIp(m[1] ?? m[2]!);
}

/** Section names in dump order. */
export const CONFIG_SECTIONS: readonly string[] = [...new Set(CONFIG_OPTIONS.map((o) => o.section))];

const optionId = (section: string, key: string): string => `${section}/${key}`;
const byId = new Map(CONFIG_OPTIONS.map((o) => [optionId(o.section, o.key), o]));

/** The option named by section and key (case-insensitive, blanks folded), or undefined. */
export function findConfigOption(section: string, key: string): ConfigOption | undefined {
  const f = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return byId.get(optionId(f(section), f(key)));
}

/**
 * Parses a ctdb.conf boolean: yes/no, true/false, on/off, 1/0 (any case).
 * Throws a plain Error on anything else.
 */
export function parseConfigBoolean(v: string): boolean {
  const t = v.trim().toLowerCase();
  if (['yes', 'true', 'on', '1'].includes(t)) return true;
  if (['no', 'false', 'off', '0'].includes(t)) return false;
  throw new Error(`invalid boolean '${v}' (use yes/no, true/false, on/off or 1/0)`);
}

/**
 * Parses a non-negative ctdb.conf integer, base taken from its prefix
 * (0x.. hex, 0.. octal, else decimal). Throws a plain Error otherwise.
 */
export function parseConfigInteger(v: string): number {
  const t = v.trim();
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^0[0-7]*$/.test(t)) n = parseInt(t, 8);
  else if (/^[1-9][0-9]*$/.test(t)) n = parseInt(t, 10);
  else throw new Error(`invalid integer '${v}'`);
  if (!Number.isSafeInteger(n) || n > 0x7fffffff) throw new Error(`integer '${v}' out of range`);
  return n;
}

/** The result of reading a ctdb.conf: the typed config plus what the file said. */
export interface ParsedConfig {
  config: CtdbConfig;
  /** Raw values given in the file, keyed `section/key` (last one wins). */
  values: Map<string, string>;
  /** Human-readable warnings (deprecated options). */
  warnings: string[];
}

/**
 * Parses ctdb.conf text. Unknown sections or keys, empty values and values
 * that fail validation throw CtdbError EINVAL `fileName:line: what is wrong`.
 * `paths` supplies defaults and the folder of debug scripts (checked to exist).
 */
export function parseConfigFile(text: string, fileName: string, paths: CtdbPaths): ParsedConfig {
  const ini = parseIni(text, fileName);
  for (const s of ini.sections) {
    if (!CONFIG_SECTIONS.includes(s.name)) {
      throw new CtdbError('EINVAL', `${fileName}:${s.line}: unknown section [${s.name}]`);
    }
  }
  const values = new Map<string, string>();
  const warnings: string[] = [];
  for (const e of ini.entries) {
    const where = `${fileName}:${e.line}`;
    if (e.section === '') throw new CtdbError('EINVAL', `${where}: option "${e.key}" is outside any section`);
    const opt = byId.get(optionId(e.section, e.key));
    if (!opt) throw new CtdbError('EINVAL', `${where}: unknown option [${e.section}] -> "${e.key}"`);
    if (e.value === '') throw new CtdbError('EINVAL', `${where}: empty value for [${e.section}] -> "${e.key}"`);
    try {
      if (opt.type === 'boolean') parseConfigBoolean(e.value);
      if (opt.type === 'integer') parseConfigInteger(e.value);
      opt.check?.(e.value, paths);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new CtdbError('EINVAL', `${where}: invalid value for [${e.section}] -> "${e.key}" = "${e.value}": ${why}`, { cause: err });
    }
    if (e.key === 'recovery lock') warnings.push(`${where}: [cluster] -> "recovery lock" is deprecated, use "cluster lock"`);
    values.set(optionId(e.section, e.key), e.value);
  }
  return { config: buildConfig(values, paths), values, warnings };
}

function buildConfig(values: Map<string, string>, paths: CtdbPaths): CtdbConfig {
  const text = (s: string, k: string): string | undefined =>
    values.get(optionId(s, k)) ?? byId.get(optionId(s, k))!.defaultText(paths);
  const str = (s: string, k: string): string => text(s, k)!;
  const int = (s: string, k: string): number => parseConfigInteger(str(s, k));
  const bool = (s: string, k: string): boolean => parseConfigBoolean(str(s, k));
  const level = (s: string, k: string): DebugLevelName => parseDebugLevel(str(s, k));
  const script = (s: string, k: string): string | undefined => {
    const v = text(s, k);
    return v === undefined ? undefined : join(paths.base, basename(v));
  };
  const cfg: CtdbConfig = {
    logging: { location: str('logging', 'location'), logLevel: level('logging', 'log level') },
    cluster: {
      transport: str('cluster', 'transport'),
      nodesList: str('cluster', 'nodes list'),
      leaderTimeout: int('cluster', 'leader timeout'),
      leaderCapability: bool('cluster', 'leader capability'),
    },
    database: {
      volatileDir: str('database', 'volatile database directory'),
      persistentDir: str('database', 'persistent database directory'),
      stateDir: str('database', 'state database directory'),
      tdbMutexes: bool('database', 'tdb mutexes'),
    },
    event: {},
    failover: {
      disabled: bool('failover', 'disabled'),
      shutdownExtraTimeout: int('failover', 'shutdown extra timeout'),
      shutdownFailoverTimeout: int('failover', 'shutdown failover timeout'),
    },
    legacy: {
      realtimeScheduling: bool('legacy', 'realtime scheduling'),
      lmasterCapability: bool('legacy', 'lmaster capability'),
      startAsStopped: bool('legacy', 'start as stopped'),
      startAsDisabled: bool('legacy', 'start as disabled'),
      scriptLogLevel: level('legacy', 'script log level'),
    },
  };
  const nodeAddress = text('cluster', 'node address');
  if (nodeAddress !== undefined) cfg.cluster.nodeAddress = parseIp(nodeAddress);
  const lock = text('cluster', 'cluster lock') ?? text('cluster', 'recovery lock');
  if (lock !== undefined) cfg.cluster.clusterLock = lock;
  const lds = script('database', 'lock debug script');
  if (lds !== undefined) cfg.database.lockDebugScript = lds;
  const ds = script('event', 'debug script');
  if (ds !== undefined) cfg.event.debugScript = ds;
  return cfg;
}

/** Parses ctdb.conf text into the effective config; errors as {@link parseConfigFile}. */
export function parseConfig(text: string, fileName: string, paths: CtdbPaths): CtdbConfig {
  return parseConfigFile(text, fileName, paths).config;
}

/**
 * Reads `paths.configFile` with {@link parseConfigFile}. A missing file gives
 * all defaults; an unreadable one throws CtdbError with the errno name.
 */
export function loadConfigFile(paths: CtdbPaths): ParsedConfig {
  let text: string;
  try {
    text = readFileSync(paths.configFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return parseConfigFile('', paths.configFile, paths);
    throw new CtdbError(code ?? 'EIO', `cannot read ${paths.configFile}`, { cause: err });
  }
  return parseConfigFile(text, paths.configFile, paths);
}

/** The effective config from `paths.configFile` (missing file → defaults). */
export function loadConfig(paths: CtdbPaths): CtdbConfig {
  return loadConfigFile(paths).config;
}

/**
 * The value of one option of a config as ctdb-config prints it: strings
 * as-is ('' when unset), integers in decimal, booleans true/false, levels by
 * name. Throws CtdbError ENOENT for an unknown option.
 */
export function getConfigText(cfg: CtdbConfig, section: string, key: string, values?: Map<string, string>): string {
  const opt = findConfigOption(section, key);
  if (!opt) throw new CtdbError('ENOENT', `configuration option [${section}] -> "${key}" not defined`);
  const v = valueOf(cfg, opt.section, opt.key, values);
  return v === undefined ? '' : v;
}

function valueOf(cfg: CtdbConfig, section: string, key: string, values?: Map<string, string>): string | undefined {
  const s = (v: string | undefined): string | undefined => v;
  const b = (v: boolean): string => (v ? 'true' : 'false');
  switch (optionId(section, key)) {
    case 'logging/location': return cfg.logging.location;
    case 'logging/log level': return cfg.logging.logLevel;
    case 'cluster/transport': return cfg.cluster.transport;
    case 'cluster/node address': return s(cfg.cluster.nodeAddress);
    case 'cluster/cluster lock': return s(cfg.cluster.clusterLock);
    case 'cluster/recovery lock': return values?.get('cluster/recovery lock');
    case 'cluster/nodes list': return cfg.cluster.nodesList;
    case 'cluster/leader timeout': return String(cfg.cluster.leaderTimeout);
    case 'cluster/leader capability': return b(cfg.cluster.leaderCapability);
    case 'database/volatile database directory': return cfg.database.volatileDir;
    case 'database/persistent database directory': return cfg.database.persistentDir;
    case 'database/state database directory': return cfg.database.stateDir;
    case 'database/lock debug script': return values?.get('database/lock debug script') ?? cfg.database.lockDebugScript;
    case 'database/tdb mutexes': return b(cfg.database.tdbMutexes);
    case 'event/debug script': return values?.get('event/debug script') ?? cfg.event.debugScript;
    case 'failover/disabled': return b(cfg.failover.disabled);
    case 'failover/shutdown extra timeout': return String(cfg.failover.shutdownExtraTimeout);
    case 'failover/shutdown failover timeout': return String(cfg.failover.shutdownFailoverTimeout);
    case 'legacy/realtime scheduling': return b(cfg.legacy.realtimeScheduling);
    case 'legacy/lmaster capability': return b(cfg.legacy.lmasterCapability);
    case 'legacy/start as stopped': return b(cfg.legacy.startAsStopped);
    case 'legacy/start as disabled': return b(cfg.legacy.startAsDisabled);
    case 'legacy/script log level': return cfg.legacy.scriptLogLevel;
    case 'metrics/listen': return values?.get('metrics/listen');
    default: return undefined;
  }
}

/**
 * The config in INI form, sections and keys in {@link CONFIG_OPTIONS} order,
 * one tab-indented `key = value` per option. Unset options are printed as
 * comments (`# key = `). With `explicit` (ids `section/key` set in the file),
 * options not in it are commented too, as Debian's `ctdb-config dump` does.
 * The output parses back to the same config.
 */
export function formatConfig(cfg: CtdbConfig, explicit?: ReadonlySet<string> | Map<string, string>): string {
  const lines: string[] = [];
  for (const section of CONFIG_SECTIONS) {
    lines.push(`[${section}]`);
    for (const o of CONFIG_OPTIONS.filter((x) => x.section === section)) {
      const id = optionId(o.section, o.key);
      const raw = explicit instanceof Map ? explicit : undefined;
      let v = valueOf(cfg, o.section, o.key, raw);
      // The alias is folded into "cluster lock"; print it only as given.
      if (id === 'cluster/recovery lock' && !raw) v = undefined;
      const isSet = explicit ? explicit.has(id) : v !== undefined;
      lines.push(`\t${isSet && v !== undefined ? '' : '# '}${o.key} = ${v ?? ''}`);
    }
  }
  return lines.join('\n') + '\n';
}
