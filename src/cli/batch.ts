import { CtdbError } from '../common/errors.js';

/**
 * Splits one command line into words the way a POSIX shell would for plain
 * words: blanks separate, single quotes keep everything, double quotes keep
 * everything but `\"` and `\\`, a backslash outside quotes escapes the next
 * character. Throws CtdbError EINVAL for an unterminated quote.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CtdbError('EINVAL', 'unterminated single quote', { exitCode: 1 });
      cur += line.slice(i + 1, end); i = end; inWord = true;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new CtdbError('EINVAL', 'unterminated double quote', { exitCode: 1 });
      i = j; inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i]; inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) { words.push(cur); cur = ''; inWord = false; }
    } else {
      cur += ch; inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** One line of a batch: its 1-based number in the input, its text and its words. */
export interface BatchLine { lineNo: number; text: string; words: string[] }

/**
 * Turns batch input into lines to run: blank lines and lines whose first
 * non-blank character is `#` are skipped but still counted. A line that does
 * not split (bad quoting) becomes a line with `error` set.
 */
export function parseBatch(text: string): Array<BatchLine & { error?: string }> {
  const out: Array<BatchLine & { error?: string }> = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const t = raw.replace(/\r$/, '');
    if (t.trim() === '' || t.trim().startsWith('#')) return;
    try {
      out.push({ lineNo: i + 1, text: t.trim(), words: splitWords(t) });
    } catch (err) {
      out.push({ lineNo: i + 1, text: t.trim(), words: [], error: (err as Error).message });
    }
  });
  return out;
}

/** Outcome of a batch: the exit code and how far it got. */
export interface BatchResult {
  code: number;
  /** Lines that ran and succeeded, in order. */
  applied: number[];
  /** The line that failed, if any (the batch stops there). */
  failed?: BatchLine;
}

/**
 * Runs `lines` one after another with `run` (which resolves to an exit
 * code), stopping at the first non-zero code. On failure writes, to `err`,
 * the failing line's number and text, its exit code and what was applied
 * before it; resolves to that exit code.
 */
export async function runBatch(
  lines: Array<BatchLine & { error?: string }>,
  run: (line: BatchLine) => Promise<number>,
  err: (s: string) => void,
  label: string,
): Promise<BatchResult> {
  const applied: number[] = [];
  for (const line of lines) {
    let code: number;
    if (line.error !== undefined) {
      err(`${line.error}\n`);
      code = 1;
    } else {
      code = await run(line);
    }
    if (code !== 0) {
      err(describeFailure(label, line, code, applied));
      return { code, applied, failed: line };
    }
    applied.push(line.lineNo);
  }
  return { code: 0, applied };
}

/** The failure report of a batch (three lines). */
export function describeFailure(label: string, line: BatchLine, code: number, applied: number[]): string {
  const done = applied.length === 0
    ? 'nothing was applied before it'
    : `${applied.length} line(s) were applied before it (line${applied.length > 1 ? 's' : ''} ${compactRanges(applied)})`;
  return `${label}: batch stopped at line ${line.lineNo}: ${line.text}\n`
    + `${label}: line ${line.lineNo} failed with exit code ${code}; ${done}; later lines were not run\n`;
}

/** `1,2,3,5` → `1-3,5`. */
export function compactRanges(ns: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ns.length; i++) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    parts.push(j > i ? `${ns[i]}-${ns[j]}` : `${ns[i]}`);
    i = j;
  }
  return parts.join(',');
}
