import { CtdbError } from './errors.js';

/** One `key = value` line of a Samba-style INI file. */
export interface IniEntry {
  /** Lower-cased section name, or '' before any section header. */
  section: string;
  /** Lower-cased key with runs of blanks folded to one space. */
  key: string;
  /** The value with surrounding blanks removed (inline `#`/`;` are kept). */
  value: string;
  /** 1-based line number. */
  line: number;
}

/** One `[section]` header line. */
export interface IniSection { name: string; line: number }

/** The lines of an INI file in order. */
export interface IniFile { sections: IniSection[]; entries: IniEntry[] }

const fold = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * Splits Samba-style INI text into sections and entries, keeping line
 * numbers. Lines whose first non-blank character is `#` or `;` are comments;
 * names are case-insensitive. Malformed lines (no `=`, empty key, bad
 * header) throw CtdbError EINVAL `file:line: ...`. With `allowSections`
 * false a header is an error too.
 */
export function parseIni(text: string, fileName: string, opts: { allowSections?: boolean } = {}): IniFile {
  const allowSections = opts.allowSections ?? true;
  const out: IniFile = { sections: [], entries: [] };
  let section = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const t = lines[i]!.replace(/\r$/, '').trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const fail = (what: string): never => {
      throw new CtdbError('EINVAL', `${fileName}:${lineNo}: ${what}`);
    };
    if (t.startsWith('[')) {
      if (!allowSections) fail(`sections are not allowed here: '${t}'`);
      const m = /^\[([^\]]*)\]$/.exec(t);
      if (!m) fail(`malformed section header '${t}'`);
      const name = fold(m![1]!);
      if (name === '') fail('empty section name');
      section = name;
      out.sections.push({ name, line: lineNo });
      continue;
    }
    const eq = t.indexOf('=');
    if (eq < 0) fail(`expected 'key = value', got '${t}'`);
    const key = fold(t.slice(0, eq));
    if (key === '') fail(`missing key before '=' in '${t}'`);
    out.entries.push({ section, key, value: t.slice(eq + 1).trim(), line: lineNo });
  }
  return out;
}
