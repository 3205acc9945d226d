import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CtdbError } from '../common/errors.js';
import { packageDistDir } from '../common/paths.js';
import { helperEnv } from '../common/helper-env.js';

/** Options for starting ctdb-eventd. */
export interface StartEventdOptions {
  ctdbBase: string;
  socketPath: string;
  logLevel?: string;
  /** Hung-script debug hook; defaults to `[event] debug script` of ctdb.conf. */
  debugScript?: string;
  env?: NodeJS.ProcessEnv;
  /** Bundled daemon to run (default `<dist>/ctdb-eventd.js`). */
  eventdPath?: string;
  /** Milliseconds to wait for the socket (default 15 s). */
  startTimeoutMs?: number;
  /** Where the daemon's log goes: 'inherit' (default, our stderr) or 'ignore'. */
  stderr?: 'inherit' | 'ignore';
}

const canConnect = (path: string): Promise<boolean> => new Promise((resolve) => {
  const s = connect(path);
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/**
 * Starts ctdb-eventd as a child (`node <dist>/ctdb-eventd.js ...`), told to
 * exit when this process dies, and resolves once its socket accepts
 * connections. Throws CtdbError('ESRCH') when it exits early,
 * CtdbError('ETIMEDOUT') when the socket never comes up (the child is killed).
 */
export async function startEventd(opts: StartEventdOptions): Promise<{ pid: number; stop(): Promise<void> }> {
  const script = opts.eventdPath ?? join(packageDistDir(), 'ctdb-eventd.js');
  const args = [script, '--socket', opts.socketPath, '--ctdb-base', opts.ctdbBase, '--pid', String(process.pid)];
  if (opts.logLevel) args.push('--debug', opts.logLevel);
  if (opts.debugScript) args.push('--debug-script', opts.debugScript);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', opts.stderr ?? 'inherit'],
    env: helperEnv({ ...opts.env, CTDB_BASE: opts.ctdbBase }),
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => { exited = { code, signal }; resolve(); });
    child.once('error', () => { exited ??= { code: null, signal: null }; resolve(); });
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exitPromise;
    clearTimeout(t);
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    if (exited) {
      throw new CtdbError('ESRCH', `ctdb-eventd exited during start-up (code ${exited.code}, signal ${exited.signal}); see its log`);
    }
    if (await canConnect(opts.socketPath)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new CtdbError('ETIMEDOUT', `ctdb-eventd did not open ${opts.socketPath} in time`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid!, stop };
}
