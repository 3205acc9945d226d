import { exitCodeFor, oneLine } from './errors.js';
import { logger } from './log.js';

/**
 * The one boundary of an executable: runs `main`, prints one clear line on
 * failure, logs the full error, and sets the exit code without cutting
 * stdout/stderr short.
 */
export async function runMain(name: string, main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (err) {
    logger(name).debug({ err }, 'fatal');
    process.stderr.write(`${name}: ${oneLine(err)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
