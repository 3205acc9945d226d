import { CtdbError } from '../common/errors.js';

/** One node's row of `ctdb -X nodestatus all`. */
export interface NodeStatus {
  pnn: number;
  ip: string;
  disconnected: boolean;
  unknown: boolean;
  banned: boolean;
  disabled: boolean;
  unhealthy: boolean;
  stopped: boolean;
  inactive: boolean;
  partiallyOnline: boolean;
  thisNode: boolean;
}

const flagOf = (field: string | undefined): boolean => Number(field ?? '0') !== 0;

/**
 * Parses `ctdb -X nodestatus all` output: the first line (header) is dropped,
 * each other non-empty line is `|PNN|IP|Disconnected|Unknown|Banned|Disabled|
 * Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|`. Rows come back in
 * output (PNN) order. Throws `CtdbError('EPROTO')` on a row that is not of
 * that shape.
 */
export function parseNodeStatusX(text: string): NodeStatus[] {
  const rows = text.split('\n').slice(1).filter((l) => l.trim() !== '');
  return rows.map((line) => {
    const f = line.replace(/^\|/, '').replace(/\|$/, '').split('|');
    if (f.length < 9 || !/^\d+$/.test(f[0] ?? '')) {
      throw new CtdbError('EPROTO', `unexpected line in "ctdb -X nodestatus all" output: ${line.slice(0, 80)}`);
    }
    return {
      pnn: Number(f[0]), ip: f[1] ?? '',
      disconnected: flagOf(f[2]), unknown: flagOf(f[3]), banned: flagOf(f[4]),
      disabled: flagOf(f[5]), unhealthy: flagOf(f[6]), stopped: flagOf(f[7]),
      inactive: flagOf(f[8]), partiallyOnline: flagOf(f[9]), thisNode: f[10] === 'Y',
    };
  });
}

/**
 * Keeps the lines of plain `ctdb nodestatus all` output whose second word
 * (the node address) is in `ips`, as `status` prints them.
 */
export function filterHumanNodeStatus(text: string, ips: ReadonlySet<string>): string[] {
  return text.split('\n').filter((line) => {
    const words = line.trim().split(/\s+/);
    return words.length >= 2 && ips.has(words[1] ?? '');
  });
}
