import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CtdbConfig } from '../common/config.js';
import { Errno } from '../common/errors.js';
import type { CtdbPaths } from '../common/paths.js';
import { EventdClient } from '../eventd/client.js';
import { startEventd } from '../eventd/spawn.js';
import type { EventRunner } from './ctdbd.js';
import { helperEnv } from '../common/helper-env.js';

/** Environment every event script (and notify.sh) sees. */
export function scriptEnvironment(paths: CtdbPaths, config: CtdbConfig): NodeJS.ProcessEnv {
  return {
    CTDB_BASE: paths.base,
    CTDB_HELPER_BINDIR: paths.helperDir,
    CTDB_SCRIPT_VARDIR: paths.scriptVardir,
    CTDB_LOGGING: config.logging.location,
    CTDB_DEBUGLEVEL: config.logging.logLevel,
    // Scripts call the project's own ctdb tool unless told otherwise.
    CTDB: process.env.CTDB ?? join(paths.helperDir, 'ctdb.js'),
    ...(paths.testMode ? { CTDB_TEST_MODE: 'yes' } : {}),
  };
}

/**
 * Starts ctdb-eventd for this daemon and returns an EventRunner on it. An
 * event with no scripts anywhere (component folder missing) counts as
 * success, as it does for a node with no event scripts installed.
 */
export async function startEventRunner(paths: CtdbPaths, config: CtdbConfig, log: Logger): Promise<EventRunner> {
  const env = scriptEnvironment(paths, config);
  const launch = async (): Promise<{ eventd: Awaited<ReturnType<typeof startEventd>>; client: EventdClient }> => {
    const eventd = await startEventd({
      ctdbBase: paths.base, socketPath: paths.eventdSocket, debugScript: config.event.debugScript,
      env, stderr: 'ignore',
    });
    try {
      const client = await EventdClient.connect(paths.eventdSocket);
      log.info({ pid: eventd.pid }, 'event daemon started');
      return { eventd, client };
    } catch (err) {
      await eventd.stop();
      throw err;
    }
  };
  let current = await launch();
  let restarting: Promise<void> | undefined;
  let closed = false;

  /** The event daemon died (its connection failed): start a new one, once for all waiters. */
  const restart = (why: unknown): Promise<void> => {
    restarting ??= (async () => {
      log.error({ err: why, pid: current.eventd.pid }, 'lost the event daemon, restarting it');
      current.client.close();
      await current.eventd.stop().catch(() => {});
      current = await launch();
    })().finally(() => { restarting = undefined; });
    return restarting;
  };

  return {
    async run(event, args, timeoutSec) {
      if (restarting) await restarting;
      let r: number;
      try {
        r = await current.client.runEvent(event, args, timeoutSec);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (closed || (code !== 'ENOTCONN' && code !== 'ECONNREFUSED' && code !== 'EIO' && code !== 'ECONNRESET')) throw err;
        await restart(err);
        r = await current.client.runEvent(event, args, timeoutSec);
      }
      return r === -Errno.ENOENT ? 0 : r;
    },
    notify(event) {
      try { accessSync(paths.notifyScript, constants.X_OK); } catch { return; }
      const p = spawn(paths.notifyScript, [event], { env: helperEnv(env), stdio: 'ignore', detached: true });
      const t = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 30_000);
      p.on('exit', () => clearTimeout(t));
      p.on('error', (err) => { clearTimeout(t); log.warn({ err, event }, 'notify script failed to start'); });
      p.unref();
    },
    async close() {
      closed = true;
      if (restarting) await restarting.catch(() => {});
      current.client.close();
      await current.eventd.stop();
    },
  };
}
