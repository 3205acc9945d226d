import { createRequire } from 'node:module';
import type { Logger, LevelWithSilent } from 'pino';
import type * as PinoModule from 'pino';

// pino is loaded on first use, so short-lived tools that never log do not pay for it.
let pinoFn: typeof PinoModule.default | undefined;
const pino = (...args: Parameters<typeof PinoModule.default>): Logger => {
  pinoFn ??= createRequire(import.meta.url)('pino') as typeof PinoModule.default;
  return pinoFn(...args) as unknown as Logger;
};
const destination = (opts: Parameters<typeof PinoModule.destination>[0]) => {
  pinoFn ??= createRequire(import.meta.url)('pino') as typeof PinoModule.default;
  return pinoFn.destination(opts);
};

import { parseDebugLevel, type DebugLevelName } from './debug-levels.js';
export { DebugLevels, parseDebugLevel, type DebugLevelName } from './debug-levels.js';

const pinoLevel: Record<DebugLevelName, LevelWithSilent> = {
  ERROR: 'error', WARNING: 'warn', NOTICE: 'info', INFO: 'info', DEBUG: 'debug',
};


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
    root = pino({ level, base: { pid: process.pid } }, destination({ fd: 2, sync: true }));
  }
  return root;
}

/** Replaces the root logger (daemon start-up). `dest` is a file path or 'stderr'. */
export function configureLogging(opts: { dest: string; level: DebugLevelName; name: string }): Logger {
  const dest = opts.dest === 'stderr'
    ? destination({ fd: 2, sync: true })
    : destination({ dest: opts.dest, mkdir: true, sync: false });
  root = pino({ level: toPinoLevel(opts.level), base: { pid: process.pid, name: opts.name } }, dest);
  return root;
}

/** A child logger for one component. */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}
