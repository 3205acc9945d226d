import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { resolvePaths } from '../common/paths.js';

/**
 * Starts ctdbd again in the background (stdin from /dev/null, detached) and
 * returns once its client socket accepts connections (0) or the child exits
 * first (its exit code).
 */
export async function daemonise(): Promise<number> {
  const paths = resolvePaths();
  const child = spawn(process.execPath, [process.argv[1]!, '-i', ...process.argv.slice(2)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CTDBD_DAEMONISED: '1' },
  });
  let exitCode: number | undefined;
  child.on('exit', (code) => { exitCode = code ?? 1; });
  for (let i = 0; i < 300; i++) {
    if (exitCode !== undefined) return exitCode;
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(paths.socket);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (up) { child.unref(); return 0; }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stderr.write(`ctdbd: daemon did not open ${paths.socket} within 30 s\n`);
  return 1;
}
