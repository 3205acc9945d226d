import { Errno } from '../common/errors.js';
import { msFromTimeVal, type ScriptStatus, type TimeVal } from './protocol.js';

/**
 * Pure formatters for `ctdb event ...` output, byte-compatible with the
 * CTDB 4.17 `ctdb-event` tool (cli.md §5, checked against the real tool).
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** C `ctime()` text for a time (local time zone), including the trailing newline. */
export function formatCtime(t: TimeVal): string {
  const d = new Date(t.sec * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} `
    + `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}\n`;
}

const STRERROR: Record<number, string> = {
  [Errno.EINTR]: 'Interrupted system call', [Errno.ENOENT]: 'No such file or directory',
  [Errno.EACCES]: 'Permission denied', [Errno.EIO]: 'Input/output error',
  [Errno.ENOMSG]: 'No message of desired type', [Errno.ECANCELED]: 'Operation canceled',
  [Errno.EINVAL]: 'Invalid argument', [Errno.ENOMEM]: 'Cannot allocate memory',
};

/** C `strerror()` text for an errno value. */
export const strerror = (errno: number): string => STRERROR[errno] ?? `Unknown error ${errno}`;

const col = (s: string, w: number): string => s.padEnd(w, ' ');

/** Formats the script lines of `event status` (one or two entries per script). */
export function formatEventStatus(scripts: ScriptStatus[]): string {
  let out = '';
  for (const s of scripts) {
    const name = col(s.name, 20);
    if (s.result === -Errno.ETIMEDOUT) {
      out += `${name} ${col('TIMEDOUT', 10)} ${formatCtime(s.begin)}`;
    } else if (s.result === -Errno.ENOEXEC) {
      out += `${name} ${col('DISABLED', 10)}\n`;
    } else if (s.result < 0) {
      out += `${name} ${col('CANNOT RUN', 10)} (${strerror(-s.result)})\n`;
    } else {
      const secs = (msFromTimeVal(s.end) - msFromTimeVal(s.begin)) / 1000;
      out += `${name} ${col(s.result === 0 ? 'OK' : 'ERROR', 10)} ${secs.toFixed(3)} ${formatCtime(s.begin)}`;
    }
    // 4.17 prints the saved output only for failures, verbatim.
    if (s.result !== 0 && s.result !== -Errno.ENOEXEC) out += `  OUTPUT: ${s.output}\n`;
  }
  return out;
}

/** The message `event run` prints for a failed RUN reply (positive errno), or '' for success. */
export function formatRunFailure(result: number, component: string, event: string): string {
  switch (result) {
    case 0: return '';
    case Errno.ENOENT: return `Event dir for ${component} does not exist\n`;
    case Errno.ETIMEDOUT: return `Event ${event} in ${component} timed out\n`;
    case Errno.ECANCELED: return `Event ${event} in ${component} got cancelled\n`;
    case Errno.ENOEXEC: return `Event ${event} in ${component} failed\n`;
    default: return `Failed to run event ${event} in ${component}, result=${result}\n`;
  }
}

/** One entry of `event script list`. */
export interface ScriptListEntry { name: string; enabled: boolean }

/**
 * Formats `event script list`: packaged scripts first, then scripts that
 * exist only in the configuration folder, a blank line between the groups.
 */
export function formatScriptList(packaged: ScriptListEntry[], local: ScriptListEntry[]): string {
  const line = (e: ScriptListEntry): string => `${e.enabled ? '*' : ' '} ${e.name}\n`;
  const a = packaged.map(line).join('');
  const b = local.map(line).join('');
  return a !== '' && b !== '' ? `${a}\n${b}` : a + b;
}
