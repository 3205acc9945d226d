/**
 * Shared checks of the fuzzers: a parser or decoder given junk either
 * returns or throws a CtdbError with a stable code and a non-empty message.
 * Anything else (TypeError, RangeError, a plain Error) is a crash.
 */
import { CtdbError } from '../../src/common/errors.js';

/** What one call did. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: CtdbError };

/** Runs `fn`; returns its outcome, or rethrows a descriptive error when it crashed. */
export function expectClean(what: string, input: unknown, fn: () => unknown, opts: { plainError?: boolean } = {}): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof CtdbError && typeof err.code === 'string' && err.code !== '' && err.message.trim() !== '') {
      return { ok: false, error: err };
    }
    // Some pure helpers document a plain Error (their caller adds file and line); TypeError & co. are still crashes.
    if (opts.plainError && err instanceof Error && err.constructor === Error && err.message.trim() !== '') {
      return { ok: false, error: new CtdbError('EINVAL', err.message) };
    }
    const shown = Buffer.isBuffer(input) ? input.toString('hex').slice(0, 400) : JSON.stringify(input)?.slice(0, 400);
    const e = new Error(`${what} crashed on ${shown}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    (e as { cause?: unknown }).cause = err;
    throw e;
  }
}

/** Number of fast-check runs per property (FUZZ_RUNS overrides for long runs by hand). */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
