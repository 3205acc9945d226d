/**
 * `--json` for listing commands: converts the machine-readable (-X) table a
 * command prints, or its `name = value` / `name: value` lines, into JSON.
 * Pure; the schema is documented in ctdb-admin(7).
 */

/** How a command's output becomes JSON. */
export type JsonShape =
  | { kind: 'native' }
  | { kind: 'table'; single?: boolean; columns?: string[]; rawKeys?: boolean }
  | { kind: 'pairs'; sep: string; machine: false }
  /** One printed value under `key` (decimal integers as numbers, `UNKNOWN` as null). */
  | { kind: 'value'; key: string }
  /** Event script results, read from ctdb-eventd (structured.ts). */
  | { kind: 'events' };

/** Commands that have a JSON form, and how it is made. */
export const JSON_COMMANDS: Readonly<Record<string, JsonShape>> = {
  status: { kind: 'native' },
  nodestatus: { kind: 'native' },
  listnodes: { kind: 'table', columns: ['pnn', 'address'] },
  getdbmap: { kind: 'table' },
  ip: { kind: 'table' },
  ifaces: { kind: 'table' },
  gettickles: { kind: 'table' },
  getcapabilities: { kind: 'table', single: true },
  statistics: { kind: 'table', single: true, rawKeys: true },
  listvars: { kind: 'pairs', sep: '=', machine: false },
  getdbstatus: { kind: 'pairs', sep: ':', machine: false },
  version: { kind: 'value', key: 'version' },
  pnn: { kind: 'value', key: 'pnn' },
  leader: { kind: 'value', key: 'leader' },
  getpid: { kind: 'value', key: 'pid' },
  runstate: { kind: 'value', key: 'runstate' },
  getdebug: { kind: 'value', key: 'level' },
  getreclock: { kind: 'value', key: 'clusterLock' },
  getdbseqnum: { kind: 'value', key: 'seqnum' },
  scriptstatus: { kind: 'events' },
  event: { kind: 'events' },
};

/** `Public IP` → `publicIp`, `ThisNode` → `thisNode`, `PNN` → `pnn`. */
export function jsonKey(header: string): string {
  const words = header.trim().split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  return words.map((w, i) => {
    const lower = /^[A-Z0-9]+$/.test(w) ? w.toLowerCase() : w[0]!.toLowerCase() + w.slice(1);
    return i === 0 ? lower : lower[0]!.toUpperCase() + lower.slice(1);
  }).join('');
}

/** A decimal integer becomes a number; anything else (hex ids, addresses, Y/N) stays a string. */
export function jsonValue(v: string): string | number {
  return /^-?(0|[1-9]\d*)$/.test(v) && Math.abs(Number(v)) <= Number.MAX_SAFE_INTEGER ? Number(v) : v;
}

/**
 * Converts `|A|B|` machine-readable lines (separator `sep`) into objects
 * keyed by jsonKey(header) (or the header text itself with `rawKeys`); repeated keys get a number suffix (`port`,
 * `port2`). With `columns` there is no header line. Throws when a line is
 * not a table row.
 */
export function tableToJson(text: string, sep: string, columns?: string[], rawKeys = false): Array<Record<string, string | number>> {
  const rows = text.split('\n').filter((l) => l !== '').map((l) => {
    // CTDB's `statistics -X` header has no leading separator; every row has a trailing one.
    if (!l.endsWith(sep)) throw new Error(`not a machine-readable row: ${l}`);
    return l.slice(l.startsWith(sep) ? 1 : 0, -1).split(sep);
  });
  let keys: string[];
  if (columns) keys = columns;
  else {
    const header = rows.shift() ?? [];
    const seen = new Map<string, number>();
    keys = header.map((h) => {
      const k = rawKeys ? h : jsonKey(h);
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      return n > 1 ? `${k}${n}` : k;
    });
  }
  return rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, jsonValue(r[i] ?? '')])));
}

/** Converts `name SEP value` lines into one object (names kept as printed, values as jsonValue). */
export function pairsToJson(text: string, sep: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(sep);
    if (i <= 0) continue;
    out[line.slice(0, i).trim()] = jsonValue(line.slice(i + 1).trim());
  }
  return out;
}

/** Renders a command's captured output as JSON text (with a final newline) according to `shape`. */
export function toJson(shape: JsonShape, text: string, sep: string): string {
  let v: unknown;
  if (shape.kind === 'pairs') v = pairsToJson(text, shape.sep);
  else if (shape.kind === 'value') {
    const t = text.replace(/\n$/, '');
    v = { [shape.key]: t === 'UNKNOWN' || t === '' ? null : jsonValue(t) };
  } else if (shape.kind === 'table') {
    const rows = tableToJson(text, sep, shape.columns, shape.rawKeys);
    v = shape.single ? rows[0] ?? {} : rows;
  } else v = text;
  return `${JSON.stringify(v, null, 2)}\n`;
}
