/**
 * The work of ctdb_etcd_lock: the cluster lock kept in etcd. The lock is a
 * key created only if absent and attached to a lease that this helper keeps
 * alive; if the helper (or its node) dies, the lease expires after its TTL
 * and the key disappears, so another node can take the lock.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { writeSync } from 'node:fs';
import { CtdbError, oneLine } from '../common/errors.js';
import { logger } from '../common/log.js';
import { EtcdClient } from './etcd-client.js';
import { watchParent } from './parent-watch.js';
import { MutexStatus, type MutexStatusChar } from './status.js';

const NAME = 'ctdb_etcd_lock';
const log = logger(NAME);

/** Options of ctdb_etcd_lock. */
export interface EtcdLockArgs {
  endpoints: string[];
  key: string;
  ttlSec: number;
  timeoutSec: number;
  help: boolean;
}

export const ETCD_LOCK_USAGE =
  'Usage: ctdb_etcd_lock [-e ENDPOINT]... [-k KEY] [-t TTL] [-T REQUEST_TIMEOUT]';

function seconds(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new CtdbError('EINVAL', `invalid ${what} '${text}' (whole seconds from ${min} to ${max} expected)`);
  }
  return Number(text);
}

/** Parses ctdb_etcd_lock's command line; throws CtdbError('EINVAL') with the reason. */
export function parseEtcdLockArgs(argv: string[]): EtcdLockArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        endpoint: { type: 'string', short: 'e', multiple: true },
        key: { type: 'string', short: 'k' },
        ttl: { type: 'string', short: 't' },
        timeout: { type: 'string', short: 'T' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new CtdbError('EINVAL', `${oneLine(err)}. ${ETCD_LOCK_USAGE}`, { cause: err });
  }
  const v = parsed.values;
  const endpoints = (v.endpoint ?? ['http://127.0.0.1:2379']).flatMap((e) => e.split(',')).filter((e) => e !== '');
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw new CtdbError('EINVAL', `invalid etcd endpoint '${e}' (http://HOST:PORT expected)`);
  }
  const key = v.key ?? '/ctdb/cluster_lock';
  if (key === '') throw new CtdbError('EINVAL', 'empty lock key');
  return {
    endpoints,
    key,
    ttlSec: seconds(v.ttl ?? '10', 'TTL', 2, 3600),
    timeoutSec: seconds(v.timeout ?? '5', 'request timeout', 1, 600),
    help: v.help ?? false,
  };
}

function reportStatus(ch: MutexStatusChar): void {
  try { writeSync(1, ch); } catch (err) { log.debug({ err }, 'cannot write status'); }
}

function say(line: string): void {
  process.stderr.write(`${NAME}: ${line}\n`);
}

/** Status character for a failed etcd request: '2' when etcd did not answer in time, else '3'. */
export function statusForError(err: unknown): MutexStatusChar {
  return err instanceof CtdbError && err.code === 'ETIMEDOUT' ? MutexStatus.TIMEOUT : MutexStatus.ERROR;
}

/** Options that tests may shorten. */
export interface EtcdLockTiming { parentCheckMs?: number }

/**
 * Runs the helper: prints one status character and, when the lock was
 * taken, resolves only once it is given up (SIGTERM, parent death, loss).
 */
export async function runEtcdLock(args: EtcdLockArgs, timing: EtcdLockTiming = {}): Promise<number> {
  if (process.ppid === 1) {
    say('parent is already gone (ppid 1), not taking the lock');
    return 1;
  }
  const etcd = new EtcdClient(args.endpoints, args.timeoutSec * 1000);
  let lease;
  try {
    lease = await etcd.grantLease(args.ttlSec);
  } catch (err) {
    reportStatus(statusForError(err));
    say(`cannot get an etcd lease: ${oneLine(err)}`);
    return 0;
  }
  const owner = `${hostname()}:${process.pid}`;
  try {
    const r = await etcd.createIfAbsent(args.key, owner, lease.id);
    if (!r.created) {
      log.info({ key: args.key, holder: r.holder?.value }, 'lock held elsewhere');
      await etcd.revokeLease(lease.id).catch((err: unknown) => log.warn({ err }, 'cannot revoke unused lease'));
      reportStatus(MutexStatus.CONTENDED);
      return 0;
    }
  } catch (err) {
    await etcd.revokeLease(lease.id).catch(() => undefined);
    reportStatus(statusForError(err));
    say(`cannot create lock key "${args.key}": ${oneLine(err)}`);
    return 0;
  }
  reportStatus(MutexStatus.HELD);
  log.info({ key: args.key, lease: lease.id, ttlSec: lease.ttlSec }, 'lock taken');
  return holdLock(etcd, args, lease.id, lease.ttlSec, timing);
}

function holdLock(etcd: EtcdClient, args: EtcdLockArgs, leaseId: string, ttlSec: number, timing: EtcdLockTiming): Promise<number> {
  return new Promise((resolve) => {
    let finished = false;
    let busy = false;
    let lastRenewed = Date.now();
    const stops: Array<() => void> = [];
    const finish = async (code: number, why: string): Promise<void> => {
      if (finished) return;
      finished = true;
      for (const stop of stops) stop();
      log.info({ key: args.key, why }, 'giving up lock');
      // Revoking the lease deletes the key at once instead of after the TTL.
      await etcd.revokeLease(leaseId).catch((err: unknown) => log.warn({ err }, 'cannot revoke lease; it expires after its TTL'));
      resolve(code);
    };
    const lost = (why: string): void => {
      say(`lock lost - ${why}`);
      void finish(1, why);
    };
    const onTerm = (): void => { void finish(0, 'SIGTERM'); };
    process.once('SIGTERM', onTerm);
    stops.push(() => process.off('SIGTERM', onTerm));
    stops.push(watchParent((ppid) => { void finish(1, `parent ${ppid} died`); }, timing.parentCheckMs));

    const tick = async (): Promise<void> => {
      if (busy || finished) return;
      busy = true;
      try {
        const left = await etcd.keepAlive(leaseId);
        if (left <= 0) return lost(`lease ${leaseId} expired`);
        lastRenewed = Date.now();
        const kv = await etcd.get(args.key);
        if (!kv) return lost(`lock key "${args.key}" was deleted`);
        if (kv.lease !== leaseId) return lost(`lock key "${args.key}" now belongs to ${kv.value}`);
      } catch (err) {
        if (Date.now() - lastRenewed >= ttlSec * 1000) return lost(`lease not renewed for ${ttlSec}s: ${oneLine(err)}`);
        log.warn({ err }, 'etcd request failed while holding the lock; retrying');
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => { void tick(); }, Math.max(500, Math.floor((ttlSec * 1000) / 3)));
    stops.push(() => clearInterval(timer));
  });
}
