// Debug level names and numbers, apart from log.ts so tools can parse levels without loading pino.

/** CTDB debug level names, in increasing verbosity, with their numeric (Samba debug) values. */
export const DebugLevels = { ERROR: 0, WARNING: 1, NOTICE: 3, INFO: 5, DEBUG: 10 } as const;
export type DebugLevelName = keyof typeof DebugLevels;

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

