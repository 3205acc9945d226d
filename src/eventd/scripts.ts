import { chmod, lstat, readdir, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CtdbError } from '../common/errors.js';

/** Pattern an event script file name must match: two digits, a dot, a name, `.script`. */
export const SCRIPT_FILE_RE = /^[0-9]{2}\.[^/]+\.script$/;

/** One script found in a component folder. */
export interface ScriptEntry {
  /** Name shown in status output: the file name without `.script`. */
  name: string;
  path: string;
  /** Owner-executable bit set on the file (or the symlink's target). */
  enabled: boolean;
  /** Why the script cannot run even though it is listed (dangling link, unreadable). */
  problem?: string;
}

/** True when `file` is a valid script file name. */
export const isScriptFileName = (file: string): boolean => SCRIPT_FILE_RE.test(file);

/** Byte-order sort, like alphasort in the C library under the C locale. */
export const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Lists the scripts of one component folder in run order. Throws
 * CtdbError('ENOENT') when the folder does not exist.
 */
export async function listScripts(dir: string): Promise<ScriptEntry[]> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (err) {
    throw new CtdbError('ENOENT', `event folder ${dir} does not exist`, { cause: err });
  }
  const out: ScriptEntry[] = [];
  for (const file of files.filter(isScriptFileName).sort(byteOrder)) {
    const path = join(dir, file);
    const name = file.slice(0, -'.script'.length);
    try {
      const st = await stat(path);
      if (!st.isFile()) out.push({ name, path, enabled: false, problem: 'not a regular file' });
      else out.push({ name, path, enabled: (st.mode & 0o100) !== 0 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push({ name, path, enabled: false, problem: code === 'ENOENT' ? 'dangling symbolic link' : `cannot stat: ${code}` });
    }
  }
  return out;
}

/** How a script exists in the configuration folder. */
export type ScriptPresence = 'missing' | 'file' | 'symlink' | 'other';

/** Finds whether `path` is a regular file, a symlink, absent or something else. */
export async function scriptPresence(path: string): Promise<ScriptPresence> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) return 'symlink';
    return st.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Enables or disables script `script` (name without `.script`) in folder
 * `etcDir`. A regular file gets its x bits set (all three) or cleared; a
 * symlink is removed on disable; a missing script that exists in
 * `dataDir` is enabled by linking to it. Throws CtdbError('ENOENT') when
 * the script exists nowhere, CtdbError('EINVAL') when the name or file type
 * is not valid.
 */
export async function setScriptEnabled(etcDir: string, script: string, enable: boolean, dataDir?: string): Promise<void> {
  const file = `${script}.script`;
  if (!isScriptFileName(file)) throw new CtdbError('EINVAL', `script name ${script} is invalid`);
  const path = join(etcDir, file);
  const presence = await scriptPresence(path);
  if (presence === 'other') throw new CtdbError('EINVAL', `${path} is not a regular file`);
  if (presence === 'file') {
    const st = await stat(path);
    await chmod(path, enable ? st.mode | 0o111 : st.mode & ~0o111);
    return;
  }
  if (presence === 'symlink') {
    if (!enable) await unlink(path);
    return;
  }
  // Missing locally: only a packaged script can be enabled.
  const packaged = dataDir === undefined ? undefined : join(dataDir, file);
  if (packaged !== undefined && (await scriptPresence(packaged)) !== 'missing') {
    if (enable) await symlink(packaged, path);
    return;
  }
  throw new CtdbError('ENOENT', `script ${script} does not exist`);
}
