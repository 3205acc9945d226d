import { exitCodeFor, oneLine } from './errors.js';

/**
 * The one boundary of an executable: runs `main`, prints one clear line on
 * failure, logs the full error, and sets the exit code without cutting
 * stdout/stderr short. The logger is loaded only on failure, so a command
 * that succeeds never pays for it.
 */
export async function runMain(name: string, main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (err) {
    try {
      const { logger } = await import('./log.js');
      logger(name).debug({ err }, 'fatal');
    } catch { /* logging must not hide the error */ }
    process.stderr.write(`${name}: ${oneLine(err)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
