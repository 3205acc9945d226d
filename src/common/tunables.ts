import { readFileSync } from 'node:fs';
import { CtdbError } from './errors.js';
import { parseIni } from './ini.js';

/** One tunable: name, default, wire position and whether it is obsolete. */
export interface TunableDef {
  /** Canonical spelling, e.g. `KeepaliveInterval`. */
  name: string;
  defaultValue: number;
  /** 1-based position in the GET_ALL_TUNABLES array of u32. */
  idx: number;
  obsolete: boolean;
}

const t = (name: string, defaultValue: number, idx: number, obsolete = false): TunableDef =>
  ({ name, defaultValue, idx, obsolete });

/** Every tunable in upstream name-table order (listvars order, obsolete ones included). */
export const TUNABLES: readonly TunableDef[] = [
  t('MaxRedirectCount', 3, 1, true),
  t('SeqnumInterval', 1000, 2),
  t('ControlTimeout', 60, 3),
  t('TraverseTimeout', 20, 4),
  t('KeepaliveInterval', 5, 5),
  t('KeepaliveLimit', 5, 6),
  t('RecoverTimeout', 30, 7),
  t('RecoverInterval', 1, 8),
  t('ElectionTimeout', 3, 9),
  t('TakeoverTimeout', 9, 10),
  t('MonitorInterval', 15, 11),
  t('TickleUpdateInterval', 20, 12),
  t('EventScriptTimeout', 30, 13),
  t('MonitorTimeoutCount', 20, 14),
  t('EventScriptUnhealthyOnTimeout', 0, 15, true),
  t('RecoveryGracePeriod', 120, 16),
  t('RecoveryBanPeriod', 300, 17),
  t('DatabaseHashSize', 100001, 18),
  t('DatabaseMaxDead', 5, 19),
  t('RerecoveryTimeout', 10, 20),
  t('EnableBans', 1, 21),
  t('DeterministicIPs', 0, 22, true),
  t('LCP2PublicIPs', 1, 42, true),
  t('ReclockPingPeriod', 60, 23, true),
  t('NoIPFailback', 0, 24),
  t('DisableIPFailover', 0, 25, true),
  t('VerboseMemoryNames', 0, 26),
  t('RecdPingTimeout', 60, 27),
  t('RecdFailCount', 10, 28),
  t('LogLatencyMs', 0, 29),
  t('RecLockLatencyMs', 1000, 30),
  t('RecoveryDropAllIPs', 120, 31),
  t('VerifyRecoveryLock', 1, 32, true),
  t('VacuumInterval', 10, 33),
  t('VacuumMaxRunTime', 120, 34),
  t('RepackLimit', 10000, 35),
  t('VacuumLimit', 5000, 36, true),
  t('VacuumFastPathCount', 60, 41),
  t('MaxQueueDropMsg', 1000000, 37),
  t('AllowUnhealthyDBRead', 0, 38),
  t('StatHistoryInterval', 1, 39),
  t('DeferredAttachTO', 120, 40),
  t('AllowClientDBAttach', 1, 43),
  t('RecoverPDBBySeqNum', 1, 44, true),
  t('DeferredRebalanceOnNodeAdd', 300, 45, true),
  t('FetchCollapse', 1, 46),
  t('HopcountMakeSticky', 50, 47),
  t('StickyDuration', 600, 48),
  t('StickyPindown', 200, 49),
  t('NoIPTakeover', 0, 50),
  t('DBRecordCountWarn', 100000, 51),
  t('DBRecordSizeWarn', 10000000, 52),
  t('DBSizeWarn', 100000000, 53),
  t('PullDBPreallocation', 10485760, 54),
  t('NoIPHostOnAllDisabled', 1, 55, true),
  t('Samba3AvoidDeadlocks', 0, 56, true),
  t('TDBMutexEnabled', 1, 57, true),
  t('LockProcessesPerDB', 200, 58),
  t('RecBufferSizeLimit', 1000000, 59),
  t('QueueBufferSize', 1024, 60),
  t('IPAllocAlgorithm', 2, 61),
  t('AllowMixedVersions', 0, 62),
];

/** Number of u32 values in GET_ALL_TUNABLES. */
export const TUNABLE_COUNT = 62;

const byLowerName = new Map(TUNABLES.map((d) => [d.name.toLowerCase(), d]));

/** The definition of a tunable by name (case-insensitive), or undefined. */
export function findTunable(name: string): TunableDef | undefined {
  return byLowerName.get(name.trim().toLowerCase());
}

/**
 * Parses a tunable value: unsigned 32-bit, base from its prefix (0x.. hex,
 * 0.. octal, else decimal). Throws a plain Error otherwise.
 */
export function parseTunableValue(text: string): number {
  const v = text.trim();
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(v)) n = parseInt(v.slice(2), 16);
  else if (/^0[0-7]*$/.test(v)) n = parseInt(v, 8);
  else if (/^[1-9][0-9]*$/.test(v)) n = parseInt(v, 10);
  else throw new Error(`invalid value '${text}'`);
  if (n > 0xffffffff) throw new Error(`value '${text}' does not fit in 32 bits`);
  return n;
}

/** A node's current tunable values, starting from the defaults. */
export class Tunables {
  private readonly values = new Map<string, number>();

  constructor() {
    for (const d of TUNABLES) this.values.set(d.name, d.defaultValue);
  }

  /** The value of a tunable (obsolete ones too), or undefined for an unknown name. */
  get(name: string): number | undefined {
    const d = findTunable(name);
    return d ? this.values.get(d.name) : undefined;
  }

  /**
   * Sets a tunable. Obsolete names are stored and report 'obsolete' (status 1
   * on the wire); unknown names change nothing. Throws RangeError when the
   * value is not an unsigned 32-bit integer.
   */
  set(name: string, value: number): 'ok' | 'obsolete' | 'unknown' {
    const d = findTunable(name);
    if (!d) return 'unknown';
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`tunable ${d.name}: value ${value} is not a u32`);
    }
    this.values.set(d.name, value);
    return d.obsolete ? 'obsolete' : 'ok';
  }

  /** Non-obsolete names in table order, canonical case. */
  names(): string[] {
    return TUNABLES.filter((d) => !d.obsolete).map((d) => d.name);
  }

  /** The canonical spelling of a name (obsolete ones too), or undefined. */
  canonicalName(name: string): string | undefined {
    return findTunable(name)?.name;
  }

  /** All 62 values in wire (idx) order. */
  toArray(): number[] {
    const out = new Array<number>(TUNABLE_COUNT).fill(0);
    for (const d of TUNABLES) out[d.idx - 1] = this.values.get(d.name)!;
    return out;
  }

  /**
   * Applies `Name=value` lines of a ctdb.tunables text. Sections, empty or bad
   * values, unknown and obsolete names throw CtdbError EINVAL `file:line: ...`;
   * nothing is applied unless the whole text is valid.
   */
  applyText(text: string, fileName: string): void {
    const ini = parseIni(text, fileName, { allowSections: false });
    const updates: Array<[string, number]> = [];
    for (const e of ini.entries) {
      const where = `${fileName}:${e.line}`;
      const d = findTunable(e.key);
      if (!d) throw new CtdbError('EINVAL', `${where}: unknown tunable '${e.key}'`);
      if (d.obsolete) throw new CtdbError('EINVAL', `${where}: tunable ${d.name} is obsolete`);
      if (e.value === '') throw new CtdbError('EINVAL', `${where}: empty value for tunable ${d.name}`);
      try {
        updates.push([d.name, parseTunableValue(e.value)]);
      } catch (err) {
        throw new CtdbError('EINVAL', `${where}: tunable ${d.name}: ${(err as Error).message}`, { cause: err });
      }
    }
    for (const [n, v] of updates) this.values.set(n, v);
  }

  /**
   * Applies a ctdb.tunables file (see {@link applyText}). A missing file is
   * fine; other read errors throw CtdbError with the errno name.
   */
  loadFile(path: string): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      throw new CtdbError(code ?? 'EIO', `cannot read ${path}`, { cause: err });
    }
    this.applyText(text, path);
  }
}
