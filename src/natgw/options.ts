import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { CtdbError } from '../common/errors.js';

const readable = async (path: string): Promise<boolean> => {
  try { await access(path, constants.R_OK); return true; } catch { return false; }
};

/** `CTDB_BASE`, defaulting to /etc/ctdb as CTDB does. */
export function ctdbBase(env: NodeJS.ProcessEnv = process.env): string {
  return env.CTDB_BASE && env.CTDB_BASE !== '' ? env.CTDB_BASE : '/etc/ctdb';
}

/**
 * The value of shell variable `name` after sourcing, as event scripts do,
 * `<base>/script.options` then `<base>/events/legacy/<script>.options` over
 * the current environment. Options files are shell, so they are sourced by
 * `sh`; with neither file present the environment alone answers. Returns ''
 * when unset. Throws `CtdbError('EINVAL')` when an options file fails to load
 * or `name` is not a plain shell variable name.
 */
export async function loadScriptOption(base: string, script: string, name: string,
  env: NodeJS.ProcessEnv = process.env): Promise<string> {
  // The name reaches `eval` in the shell below: only a plain variable name may.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CtdbError('EINVAL', `not a shell variable name: '${name}'`);
  const files = [join(base, 'script.options'), join(base, 'events', 'legacy', `${script}.options`)];
  const present = (await Promise.all(files.map(readable))).some(Boolean);
  if (!present) return env[name] ?? '';
  const prog = 'for f in "$1" "$2"; do if [ -r "$f" ]; then . "$f" || exit 1; fi; done; eval "printf \'%s\' \\"\\${$3-}\\""';
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', prog, 'sh', files[0] ?? '', files[1] ?? '', name], { env, timeout: 10_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new CtdbError('EINVAL', `cannot load script options ${files.join(', ')}: ${stderr.trim() || err.message}`,
            { cause: err, exitCode: 1 }));
        } else {
          resolve(stdout);
        }
      });
  });
}
