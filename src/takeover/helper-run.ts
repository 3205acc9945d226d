/**
 * The takeover-run mode of ctdb_takeover_helper:
 * `ctdb_takeover_helper WRITE-FD CTDBD-SOCKET [PNN,...]`. Connects to the
 * local ctdbd, performs one run (src/takeover/run.ts) and writes the result
 * as a 4-byte int (0 or a negative errno) to WRITE-FD. On failure it reports
 * the node with most failed controls to the leader with SRVID_BANNING.
 */
import { writeSync, closeSync } from 'node:fs';
import { CtdbClient } from '../client/client.js';
import { getPnn, getTunable } from '../client/controls.js';
import { loadConfig } from '../common/config.js';
import { CtdbError, Errno } from '../common/errors.js';
import { logger } from '../common/log.js';
import { resolvePaths } from '../common/paths.js';
import { Pnn, Srvid } from '../protocol/constants.js';
import { runTakeover } from './run.js';

/** Parses `WRITE-FD SOCKET [PNN,...]`; throws CtdbError EINVAL. */
export function parseTakeoverArgs(argv: readonly string[]): { fd: number; socket: string; rebalance: number[] } {
  if (argv.length < 2 || argv.length > 3 || !/^\d+$/.test(argv[0]!)) {
    throw new CtdbError('EINVAL', 'usage: ctdb_takeover_helper WRITE-FD CTDBD-SOCKET [PNN,...]');
  }
  const rebalance = argv[2] === undefined || argv[2] === '' ? [] : argv[2].split(',').map((p) => {
    if (!/^\d+$/.test(p)) throw new CtdbError('EINVAL', `'${p}' is not a PNN`);
    return Number(p);
  });
  return { fd: Number(argv[0]), socket: argv[1]!, rebalance };
}

/** Runs the mode; resolves to the exit code (0 when the run succeeded). */
export async function runTakeoverHelper(argv: readonly string[]): Promise<number> {
  const { fd, socket, rebalance } = parseTakeoverArgs(argv);
  const log = logger('takeover');
  let result = 0;
  let client: CtdbClient | undefined;
  try {
    client = await CtdbClient.connect(socket, 10_000);
    const c = client;
    const myPnn = await getPnn(c, Pnn.CURRENT);
    c.pnn = myPnn;
    let failoverDisabled = false;
    try { failoverDisabled = loadConfig(resolvePaths()).failover.disabled; } catch { /* defaults */ }
    const r = await runTakeover({
      myPnn,
      control: (pnn, opcode, data, o) => c.control(pnn, opcode, data, { flags: o.flags, timeoutMs: o.timeoutMs }),
      tunable: (name) => getTunable(c, myPnn, name),
    }, { forceRebalance: rebalance, failoverDisabled, note: (msg, fields) => log.info(fields ?? {}, msg) });
    if (!r.ok) {
      for (const e of r.errors) log.warn(e);
      if (r.culprit !== undefined) {
        const b = Buffer.alloc(4); b.writeUInt32LE(r.culprit);
        c.message(myPnn, Srvid.BANNING, b);
        // Give the message a moment to leave before the socket closes.
        await new Promise((res) => setTimeout(res, 50));
      }
      result = -Errno.EIO;
    }
  } catch (err) {
    log.error({ err }, 'takeover run failed');
    result = -Errno.EIO;
  } finally {
    client?.close();
  }
  const b = Buffer.alloc(4); b.writeInt32LE(result);
  try { writeSync(fd, b); closeSync(fd); } catch (err) { log.error({ err, fd }, 'cannot write the result'); }
  return result === 0 ? 0 : 1;
}
