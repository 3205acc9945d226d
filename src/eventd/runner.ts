import { spawn, type ChildProcess } from 'node:child_process';
import { Errno } from '../common/errors.js';
import { timeValFromMs, type ScriptStatus } from './protocol.js';
import type { ScriptEntry } from './scripts.js';

/** Most bytes of one script's output kept; the rest is counted and dropped. */
export const DEFAULT_OUTPUT_LIMIT = 64 * 1024;

/** Options for running one event through a list of scripts. */
export interface RunEventOptions {
  scripts: ScriptEntry[];
  event: string;
  args: string[];
  /** Deadline for the whole event, in milliseconds (0 = none). */
  timeoutMs: number;
  /** Continue after a failing script (every failure is then reported). */
  runAll: boolean;
  /** Aborting cancels the event: the running script's group is killed, result -ECANCELED. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Run as `<debugScript> <pid> <event>` before a timed-out script is killed. */
  debugScript?: string;
  /** Deadline for the debug script, in milliseconds (default 10 s). */
  debugTimeoutMs?: number;
  outputLimit?: number;
  /** Called with the debug script's output (for logging). */
  onDebugOutput?: (script: string, pid: number, output: string, result: number) => void;
  /** Called when a script starts (pid) - lets callers and tests observe progress. */
  onScriptStart?: (script: string, pid: number) => void;
}

/** Outcome of one event. */
export interface EventResult {
  /** 0 when all ran scripts passed, otherwise the result of the last failure. */
  summary: number;
  scripts: ScriptStatus[];
}

/** True for a result that counts as a failure of the event. */
export const isFailure = (result: number): boolean => result !== 0 && result !== -Errno.ENOEXEC;

/** Collects a child's output up to a byte limit, counting what is dropped. */
class OutputCollector {
  private chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  constructor(private readonly limit: number) {}
  add(b: Buffer): void {
    const room = this.limit - this.kept;
    if (room > 0) {
      const part = b.length <= room ? b : b.subarray(0, room);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    this.dropped += Math.max(0, b.length - Math.max(room, 0));
  }
  text(): string {
    let s = Buffer.concat(this.chunks).toString('utf8');
    if (this.dropped > 0) s += `\n[output truncated: ${this.dropped} more bytes dropped]`;
    return s;
  }
}

/** Sends SIGKILL to a whole process group, ignoring a group that is already gone. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined || pid <= 0) return;
  try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
}

interface ChildOutcome { code: number | null; signal: NodeJS.Signals | null; spawnError?: NodeJS.ErrnoException }

/** Starts `path args` in its own process group with stdout and stderr on one pipe. */
function startChild(path: string, args: string[], env: NodeJS.ProcessEnv | undefined,
                    out: OutputCollector): { child: ChildProcess; done: Promise<ChildOutcome> } {
  // sh merges stderr into stdout and then execs the script, keeping its pid.
  const child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', path, ...args], {
    detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: env ?? process.env,
  });
  child.stdout!.on('data', (b: Buffer) => out.add(b));
  const done = new Promise<ChildOutcome>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err as NodeJS.ErrnoException }));
    child.once('exit', (code, signal) => {
      // A background child of the script may keep the pipe open: read what is
      // already there, then stop listening rather than waiting for it.
      const stdout = child.stdout!;
      if (stdout.closed) { resolve({ code, signal }); return; }
      const t = setTimeout(() => { stdout.destroy(); resolve({ code, signal }); }, 100);
      stdout.once('close', () => { clearTimeout(t); resolve({ code, signal }); });
    });
  });
  return { child, done };
}

/** Runs the debug script for a hung script, bounded by its own deadline. */
async function runDebugScript(opts: RunEventOptions, script: string, pid: number): Promise<void> {
  if (!opts.debugScript) return;
  const out = new OutputCollector(opts.outputLimit ?? DEFAULT_OUTPUT_LIMIT);
  const { child, done } = startChild(opts.debugScript, [String(pid), opts.event], opts.env, out);
  const timer = setTimeout(() => killGroup(child.pid), opts.debugTimeoutMs ?? 10_000);
  const r = await done;
  clearTimeout(timer);
  killGroup(child.pid);
  const result = r.spawnError ? -Errno.EIO : r.signal ? -Errno.EINTR : (r.code ?? 0);
  opts.onDebugOutput?.(script, pid, out.text(), result);
}

/**
 * Runs the enabled scripts of `opts.scripts` in order for one event and
 * returns each script's status. Disabled scripts are reported as -ENOEXEC;
 * after a failure (without runAll), a timeout or a cancel the event stops
 * and later scripts are left out of the list, as CTDB 4.17 does. Never
 * throws for script problems: they become results.
 */
export async function runEvent(opts: RunEventOptions): Promise<EventResult> {
  const start = Date.now();
  const deadline = opts.timeoutMs > 0 ? start + opts.timeoutMs : Infinity;
  const limit = opts.outputLimit ?? DEFAULT_OUTPUT_LIMIT;
  const statuses: ScriptStatus[] = [];
  let summary = 0;
  let stop = false;

  for (const s of opts.scripts) {
    const now = Date.now();
    const base = { name: s.name, begin: timeValFromMs(now), end: timeValFromMs(now) };
    // Like CTDB 4.17, scripts after the one that stopped the event are not listed.
    if (stop) break;
    if (!s.enabled) {
      statuses.push({ ...base, result: -Errno.ENOEXEC, output: s.problem ?? '' });
      continue;
    }
    if (opts.signal?.aborted) {
      statuses.push({ ...base, result: -Errno.ECANCELED, output: '' });
      summary = -Errno.ECANCELED; stop = true; continue;
    }

    const out = new OutputCollector(limit);
    const { child, done } = startChild(s.path, [opts.event, ...opts.args], opts.env, out);
    if (child.pid !== undefined) opts.onScriptStart?.(s.name, child.pid);
    let why: 'timeout' | 'cancel' | undefined;
    const onAbort = (): void => { why ??= 'cancel'; killGroup(child.pid); };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    let hookDone: Promise<void> = Promise.resolve();
    if (deadline !== Infinity) {
      timer = setTimeout(() => {
        if (why) return;
        why = 'timeout';
        hookDone = runDebugScript(opts, s.name, child.pid ?? 0).finally(() => killGroup(child.pid));
      }, Math.max(0, deadline - Date.now()));
    }
    const r = await done;
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await hookDone;

    let result: number;
    if (why === 'timeout') result = -Errno.ETIMEDOUT;
    else if (why === 'cancel') result = -Errno.ECANCELED;
    else if (r.spawnError) result = -((Errno as Record<string, number>)[r.spawnError.code ?? ''] ?? Errno.EIO);
    else if (r.signal) result = -Errno.EINTR;
    else result = r.code ?? 0;

    statuses.push({ ...base, end: timeValFromMs(Date.now()), result, output: out.text() });
    if (isFailure(result)) {
      summary = result;
      if (!opts.runAll || why !== undefined) stop = true;
    }
  }
  return { summary, scripts: statuses };
}
