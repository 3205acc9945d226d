/**
 * Command line of `ctdb_recovery_helper`: argument parsing and the run that
 * connects to the local daemon, recovers every database and reports.
 * Output contract: stdout carries one `culprit PNN COUNT` line per node that
 * failed controls; the result (0 or an errno) is written as a 4-byte
 * host-order int to WRITE-FD (unless `-`) and is also the exit status.
 */
import { writeSync } from 'node:fs';
import { CtdbClient } from '../client/client.js';
import { getNodemap, getPnn, getTunable, setBanState } from '../client/controls.js';
import { CtdbError, Errno } from '../common/errors.js';
import { logger } from '../common/log.js';
import { NodeFlag, Pnn } from '../protocol/constants.js';
import { NUM_RETRIES, RecoveryRun } from './driver.js';

/** Parsed helper arguments. */
export interface HelperArgs { writeFd: number | undefined; socket: string; generation: number; nodes?: number[]; noPull: number[] }

const pnnList = (s: string, what: string): number[] => s.split(',').filter((x) => x !== '').map((x) => {
  if (!/^\d+$/.test(x)) throw new CtdbError('EINVAL', `invalid PNN '${x}' in ${what}`);
  return Number(x);
});

/** Parses `WRITE-FD SOCKET GENERATION [PNN,...] [--no-pull PNN,...]`; throws CtdbError EINVAL. */
export function parseHelperArgs(argv: string[]): HelperArgs {
  const pos: string[] = [];
  let noPull: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--no-pull') { noPull = pnnList(argv[++i] ?? '', '--no-pull'); continue; }
    pos.push(argv[i]!);
  }
  if (pos.length < 3 || pos.length > 4) throw new CtdbError('EINVAL', 'expected WRITE-FD SOCKET GENERATION [PNN,...]');
  const [fd, socket, gen, nodes] = pos as [string, string, string, string | undefined];
  if (fd !== '-' && !/^\d+$/.test(fd)) throw new CtdbError('EINVAL', `invalid write fd '${fd}'`);
  if (!/^\d+$/.test(gen) || Number(gen) > 0xffffffff || Number(gen) === 1) throw new CtdbError('EINVAL', `invalid generation '${gen}'`);
  return {
    writeFd: fd === '-' ? undefined : Number(fd), socket, generation: Number(gen),
    nodes: nodes === undefined ? undefined : pnnList(nodes, 'node list'), noPull,
  };
}

/** Writes the result int to the parent's pipe (ignored when the pipe is gone). */
export function writeResult(fd: number | undefined, result: number): void {
  if (fd === undefined) return;
  const b = Buffer.alloc(4); b.writeInt32LE(result);
  try { writeSync(fd, b); } catch { /* parent went away */ }
}

/** Runs one recovery; resolves to the result code (0 = success, else errno). */
export async function runRecoveryHelper(a: HelperArgs): Promise<number> {
  const log = logger('recovery-helper');
  const c = await CtdbClient.connect(a.socket);
  try {
    const opts = { timeoutMs: 10_000 };
    c.pnn = await getPnn(c, Pnn.CURRENT, opts);
    const nodes = a.nodes ?? (await getNodemap(c, c.pnn, opts)).nodes
      .filter((n) => (n.flags & NodeFlag.INACTIVE) === 0).map((n) => n.pnn);
    const timeoutMs = Math.max(1, (await getTunable(c, c.pnn, 'RecoverTimeout', opts)) ?? 30) * 1000;
    const bufferLimit = Math.max(64 * 1024, (await getTunable(c, c.pnn, 'RecBufferSizeLimit', opts)) ?? 1_000_000);
    const t0 = Date.now();
    log.info({ generation: a.generation, nodes, noPull: a.noPull }, 'recovery started');
    const run = new RecoveryRun(c, { generation: a.generation, nodes, leader: c.pnn, noPull: a.noPull, timeoutMs, bufferLimit, log });
    const out = await run.run();
    for (const [pnn, n] of out.culprits) process.stdout.write(`culprit ${pnn} ${n}\n`);
    const records = out.dbs.reduce((s, d) => s + d.records, 0);
    log.info({ ok: out.ok, dbs: out.dbs.length, records, ms: Date.now() - t0 }, 'recovery finished');
    if (out.ok) return 0;
    // A database failed every attempt: ban the worst culprit when it earned enough (and bans are on).
    const worst = [...out.culprits].sort((x, y) => y[1] - x[1])[0];
    if (worst && worst[1] >= NUM_RETRIES && (await getTunable(c, c.pnn, 'EnableBans', opts)) !== 0 && worst[0] !== c.pnn) {
      const period = (await getTunable(c, c.pnn, 'RecoveryBanPeriod', opts)) ?? 300;
      log.warn({ pnn: worst[0], credits: worst[1], period }, 'banning node that failed database recovery');
      await setBanState(c, worst[0], { pnn: worst[0], time: period }, opts).catch((err: unknown) => log.warn({ err }, 'ban failed'));
    }
    for (const d of out.dbs.filter((x) => x.error)) log.error({ db: d.name, err: d.error }, 'database recovery failed');
    return Errno.EIO;
  } finally {
    c.close();
  }
}
