import pino, { type Logger, type LevelWithSilent } from 'pino';

/** CTDB debug level names, in increasing verbosity, with their numeric (Samba debug) values. */
export const DebugLevels = { ERROR: 0, WARNING: 1, NOTICE: 3, INFO: 5, DEBUG: 10 } as const;
export type DebugLevelName = keyof typeof DebugLevels;

const pinoLevel: Record<DebugLevelName, LevelWithSilent> = {
  ERROR: 'error', WARNING: 'warn', NOTICE: 'info', INFO: 'info', DEBUG: 'debug',
};

/** Parses a CTDB debug level (name or number); throws on anything else. */
export function parseDebugLevel(text: string): DebugLevelName {
  const t = text.trim().toUpperCase();
  if (t in DebugLevels) return t as DebugLevelName;
  if (/^-?\d+$/.test(t)) {
    // A number selects the most verbose named level not above it (4 -> NOTICE).
    const n = Number(t);
    let best: DebugLevelName = 'ERROR';
    for (const [name, v] of Object.entries(DebugLevels)) if (v <= n) best = name as DebugLevelName;
    return best;
  }
  throw new Error(`invalid debug level '${text}'`);
}

/** Maps a CTDB debug level to pino's level. */
export function toPinoLevel(level: DebugLevelName): LevelWithSilent {
  return pinoLevel[level];
}

let root: Logger | undefined;

/**
 * The process's root logger. Helpers and the CLI log to stderr (fd 2) unless
 * `configureLogging` was called; the daemon points it at its configured file.
 */
export function rootLogger(): Logger {
  if (!root) {
    const env = process.env.CTDB_DEBUGLEVEL;
    let level: LevelWithSilent = 'error';
    try { if (env) level = toPinoLevel(parseDebugLevel(env)); } catch { /* keep default */ }
    root = pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
  }
  return root;
}

/** Replaces the root logger (daemon start-up). `dest` is a file path or 'stderr'. */
export function configureLogging(opts: { dest: string; level: DebugLevelName; name: string }): Logger {
  const destination = opts.dest === 'stderr'
    ? pino.destination({ fd: 2, sync: true })
    : pino.destination({ dest: opts.dest, mkdir: true, sync: false });
  root = pino({ level: toPinoLevel(opts.level), base: { pid: process.pid, name: opts.name } }, destination);
  return root;
}

/** A child logger for one component. */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}
