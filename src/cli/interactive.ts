/**
 * The interactive prompt `ctdb` opens when run with no command on a
 * terminal: one command per line (global options allowed), Tab completes
 * command and sub-command names, Up/Down walk the history (kept in
 * $CTDB_HISTFILE, default ~/.ctdb_history). A bad line prints its error and
 * the prompt continues; `quit`, `exit` or end of input leaves.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { splitWords } from './batch.js';
import { GROUPS } from './structured.js';

/** Options of the prompt. */
export interface PromptOptions {
  /** Every classic command name (completion candidates). */
  commandNames: string[];
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** History file; '' disables it. */
  historyFile?: string;
  prompt?: string;
  /** Usage text of one command or group (for `help NAME`). */
  usageOf?: (name: string) => string | undefined;
}

const BUILTINS = ['help', 'quit', 'exit'];
/** Global options whose value is the next word (not a command word). */
const OPTIONS_WITH_VALUE = new Set(['-n', '--node', '-t', '--timelimit', '-T', '--maxruntime', '-d', '--debug', '-x', '--separator']);
const HISTORY_MAX = 500;

/**
 * Completion candidates for the text before the cursor: the first word
 * completes to commands, groups and builtins; the word after a group to
 * its sub-commands. Returns readline's `[matches, word]` pair.
 */
export function completeLine(line: string, commandNames: string[]): [string[], string] {
  const words = line.split(/\s+/);
  const cur = words[words.length - 1] ?? '';
  const done: string[] = [];
  const before = words.slice(0, -1);
  for (let i = 0; i < before.length; i++) {
    const w = before[i]!;
    if (OPTIONS_WITH_VALUE.has(w)) i++;
    else if (w !== '' && !w.startsWith('-')) done.push(w);
  }
  let pool: string[] = [];
  if (done.length === 0) pool = [...new Set([...commandNames, ...GROUPS.map((g) => g.name), ...BUILTINS])].sort();
  else if (done.length === 1) pool = GROUPS.find((g) => g.name === done[0])?.subs.map((s) => s.name) ?? [];
  const hits = pool.filter((c) => c.startsWith(cur));
  return [hits, cur];
}

function loadHistory(file: string): string[] {
  if (file === '') return [];
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').slice(-HISTORY_MAX).reverse();
  } catch { return []; }
}

/** Text of `help` at the prompt. */
export function promptHelp(): string {
  return 'Type a ctdb command without "ctdb", e.g. "status", "-n 1 ip", "node disable 2".\n'
    + `Groups: ${GROUPS.map((g) => g.name).join(', ')} ("node help" lists a group's commands).\n`
    + '"help COMMAND" shows its usage, "quit" leaves. Tab completes, Up/Down recall history.\n';
}

/**
 * Reads lines until end of input or `quit`, running each with `run` (the
 * words of the line; resolves to an exit code). Resolves to 0.
 */
export async function runInteractive(run: (words: string[]) => Promise<number>, o: PromptOptions): Promise<number> {
  const historyFile = o.historyFile ?? process.env.CTDB_HISTFILE ?? join(homedir(), '.ctdb_history');
  const output = o.output ?? process.stdout;
  const rl: Interface = createInterface({
    input: o.input ?? process.stdin,
    output,
    terminal: true,
    history: loadHistory(historyFile),
    historySize: HISTORY_MAX,
    removeHistoryDuplicates: true,
    completer: (line: string) => completeLine(line, o.commandNames),
  });
  rl.setPrompt(o.prompt ?? 'ctdb> ');
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      const text = String(next.value).trim();
      if (text === '') continue;
      if (historyFile !== '') { try { appendFileSync(historyFile, `${text}\n`); } catch { /* history is best effort */ } }
      let words: string[];
      try { words = splitWords(text); } catch (err) { output.write(`${(err as Error).message}\n`); continue; }
      if (words[0] === 'quit' || words[0] === 'exit') break;
      if (words[0] === 'help') {
        if (words.length === 1) output.write(promptHelp());
        else if (GROUPS.some((g) => g.name === words[1])) await run([words[1]!, 'help']);
        else output.write(o.usageOf?.(words[1]!) ?? `Unknown command '${words[1]}'\n`);
        continue;
      }
      // Commands read no batches from the terminal the prompt is using.
      rl.pause();
      try { await run(words); } catch (err) { output.write(`${(err as Error).message}\n`); }
      rl.resume();
    }
  } finally {
    rl.close();
    output.write('\n');
  }
  return 0;
}

/** Minimal view of a command the prompt needs. */
interface NamedCommand { name: string }

/**
 * Opens the prompt for main: completion over `commands`, `help NAME` from
 * `usageLine`, and each line run by `run`.
 */
export async function openPrompt<C extends NamedCommand>(commands: readonly C[], usageLine: (c: C) => string,
  run: (words: string[]) => Promise<number>): Promise<number> {
  // A line of options only would otherwise open a prompt inside the prompt.
  if (promptOpen) { process.stderr.write('No command given\n'); return 1; }
  promptOpen = true;
  try {
    return await runInteractive(run, {
    commandNames: commands.map((c) => c.name),
      usageOf: (n) => { const c = commands.find((x) => x.name === n); return c && usageLine(c); },
    });
  } finally {
    promptOpen = false;
  }
}

let promptOpen = false;
