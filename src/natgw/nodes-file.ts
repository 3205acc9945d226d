import { CtdbError } from '../common/errors.js';

/** The only option a NAT gateway / LVS nodes-file line may carry. */
export const FOLLOWER_ONLY = 'follower-only';

/** One line of a natgw_nodes / lvs_nodes file, split the way the shell `read IP OPTIONS` splits it. */
export interface GroupNodeLine {
  /** 1-based line number in the file. */
  lineNo: number;
  /** First word (the node's private address; `#…` on comment lines, '' on blank lines). */
  ip: string;
  /** Rest of the line, leading and trailing blanks removed ('' or `follower-only` on valid lines). */
  options: string;
  /** True when the first word starts with `#`. */
  comment: boolean;
}

/** A parsed natgw_nodes / lvs_nodes file. */
export interface GroupNodesFile {
  /** Path the text came from (for messages). */
  file: string;
  /** Every line, comments and blank lines included (trailing blank lines dropped). */
  lines: GroupNodeLine[];
}

/**
 * Parses the text of a NAT gateway or LVS nodes file: `IP [follower-only]`
 * per line, `#` lines ignored. Trailing empty lines are dropped (as a shell
 * `$(cat FILE)` drops them). Throws `CtdbError('EINVAL')` "Invalid options"
 * naming the file and line for any other option.
 */
export function parseGroupNodesFile(text: string, file: string): GroupNodesFile {
  const body = text.replace(/\n+$/, '');
  const lines = body.split('\n').map((raw, i): GroupNodeLine => {
    const trimmed = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    const m = /^(\S*)[ \t]*(.*)$/.exec(trimmed);
    const ip = m?.[1] ?? '';
    const options = m?.[2] ?? '';
    return { lineNo: i + 1, ip, options, comment: ip.startsWith('#') };
  });
  for (const l of lines) {
    if (l.comment || l.options === '' || l.options === FOLLOWER_ONLY) continue;
    throw new CtdbError('EINVAL',
      `Invalid options "${l.options}" in "${file}" line ${l.lineNo}`, { exitCode: 1 });
  }
  return { file, lines };
}

/** Addresses of the lines that may lead (no options, not comments, not blank). */
export function leaderCandidateIps(group: GroupNodesFile): Set<string> {
  return new Set(group.lines.filter((l) => !l.comment && l.ip !== '' && l.options === '').map((l) => l.ip));
}

/** Addresses of every non-blank line (the group as `list`/`status` see it). */
export function groupIps(group: GroupNodesFile): Set<string> {
  return new Set(group.lines.filter((l) => l.ip !== '').map((l) => l.ip));
}
