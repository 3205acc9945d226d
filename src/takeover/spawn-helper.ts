/**
 * Starts `ctdb_takeover_helper WRITE-FD SOCKET [PNN,...]` for one takeover
 * run (the leader's ctdbd does this) and waits for its 4-byte result.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CtdbError } from '../common/errors.js';
import { packageDistDir } from '../common/paths.js';
import { helperEnv } from '../common/helper-env.js';

/** How to start one run. */
export interface HelperRunOptions {
  /** Folder holding ctdb_takeover_helper.js (falls back to this package's dist/). */
  helperDir: string;
  /** The ctdbd client socket the helper talks to. */
  socket: string;
  /** CTDB_BASE for the helper (configuration). */
  base: string;
  /** PNNs to rebalance onto. */
  rebalance: readonly number[];
  /** Killed with SIGKILL after this many milliseconds. */
  deadlineMs: number;
}

/**
 * Runs the helper and resolves when the run succeeded; throws CtdbError EIO
 * with the helper's exit code, result and last stderr line otherwise.
 */
export async function runTakeoverHelperProcess(o: HelperRunOptions): Promise<void> {
  // CTDB_HELPER_BINDIR may point at Debian's helpers (scripts): fall back to ours.
  let helper = join(o.helperDir, 'ctdb_takeover_helper.js');
  if (!existsSync(helper)) helper = join(packageDistDir(), 'ctdb_takeover_helper.js');
  const args = [helper, '3', o.socket, ...(o.rebalance.length > 0 ? [o.rebalance.join(',')] : [])];
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: helperEnv({ CTDB_BASE: o.base }) });
  let stderr = '';
  p.stderr?.on('data', (c: Buffer) => { if (stderr.length < 4000) stderr += c.toString(); });
  const chunks: Buffer[] = [];
  (p.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => chunks.push(c));
  const timer = setTimeout(() => p.kill('SIGKILL'), o.deadlineMs);
  let startError: Error | undefined;
  const code = await new Promise<number>((res) => {
    p.on('error', (err) => { startError = err; res(-1); });
    p.on('close', (c) => res(c ?? -1));
  });
  clearTimeout(timer);
  const out = Buffer.concat(chunks);
  const result = out.length >= 4 ? out.readInt32LE(0) : -1;
  if (code !== 0 || result !== 0) {
    const why = startError?.message ?? stderr.trim().split('\n').pop() ?? '';
    throw new CtdbError('EIO', `takeover helper failed (exit ${code}, result ${result}): ${why}`, { cause: startError });
  }
}
