import { spawn } from 'node:child_process';
import { CtdbError } from '../common/errors.js';

/** What one run of the `ctdb` tool produced. */
export interface CtdbOutput { stdout: string; stderr: string; exitCode: number }

/**
 * Splits the value of the `CTDB` environment variable into a program and its
 * leading arguments (`CTDB="node /x/dist/ctdb.js"` works); unset or blank
 * means `ctdb` from PATH.
 */
export function splitCtdbCommand(value: string | undefined): [string, ...string[]] {
  const words = (value ?? '').trim().split(/\s+/).filter((w) => w !== '');
  const [prog, ...rest] = words;
  return prog === undefined ? ['ctdb'] : [prog, ...rest];
}

/**
 * Runs `ctdb ARGS…` (the program from `splitCtdbCommand`) and collects its
 * output. The process runs in its own process group, which is killed when
 * `timeoutMs` passes. Throws `CtdbError('ETIMEDOUT')` on the deadline,
 * `CtdbError('ENOENT'|'EACCES'|…)` when it cannot start, and `CtdbError('EINTR')`
 * when it dies from a signal. A non-zero exit is returned, not thrown.
 */
export function runCtdb(ctdb: readonly string[], args: readonly string[], timeoutMs: number): Promise<CtdbOutput> {
  const [prog, ...pre] = ctdb;
  const shown = [...ctdb, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(prog ?? 'ctdb', [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let failed: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: a shell wrapper's children must not keep our pipes open.
      try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { failed = e; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (failed) {
        const code2 = (failed as NodeJS.ErrnoException).code ?? 'EIO';
        reject(new CtdbError(code2, `cannot run "${shown}": ${failed.message}`, { cause: failed }));
      } else if (timedOut) {
        reject(new CtdbError('ETIMEDOUT', `"${shown}" did not finish within ${timeoutMs / 1000} s`));
      } else if (code === null) {
        reject(new CtdbError('EINTR', `"${shown}" was killed by ${signal ?? 'a signal'}`));
      } else {
        resolve({ stdout: Buffer.concat(out).toString(), stderr, exitCode: code });
      }
    });
  });
}

/** A tool's stderr folded into one line ("; " between lines, at most 300 characters). */
export function foldLines(text: string): string {
  const folded = text.split('\n').map((l) => l.trim()).filter((l) => l !== '').join('; ');
  return folded.length > 300 ? `${folded.slice(0, 297)}...` : folded;
}
