/**
 * Typed errors shared by every layer. `code` is stable (an errno-style name) so
 * boundaries can map it to an exit code without parsing messages.
 */
export class CtdbError extends Error {
  readonly code: string;
  /** Exit code an executable should use when this error reaches its boundary. */
  readonly exitCode: number;

  constructor(code: string, message: string, opts: { cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CtdbError';
    this.code = code;
    this.exitCode = opts.exitCode ?? exitCodeForCode(code);
  }
}

/** errno values used as exit codes, as CTDB's tool returns them. */
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENOEXEC: 8, EAGAIN: 11, ENOMEM: 12,
  EACCES: 13, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, ENOSPC: 28, EPIPE: 32,
  ERANGE: 34, ENOMSG: 42, EPROTO: 71, EMSGSIZE: 90, EOPNOTSUPP: 95, EADDRINUSE: 98,
  ECONNREFUSED: 111, ETIMEDOUT: 110, ECANCELED: 125, ENOTCONN: 107,
} as const;
export type ErrnoName = keyof typeof Errno;

function exitCodeForCode(code: string): number {
  return (Errno as Record<string, number>)[code] ?? 1;
}

/** The exit code for any thrown value (1 when it carries none). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CtdbError) return err.exitCode;
  return 1;
}

/** A one-line description of any thrown value, for stderr. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}
