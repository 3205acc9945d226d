import { describe, expect, it } from 'vitest';
import { BanCredits, type BanRules } from '../cluster/banning.js';
import { Reader } from '../protocol/buffer.js';
import { Capability, INVALID_GENERATION, RecMode } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import { decodeBanState } from '../protocol/payloads.js';
import type { ControlReply } from './controls.js';
import type { Ctdbd } from './ctdbd.js';
import { LeaderLoop } from './leader.js';

interface Sent { pnn: number; opcode: number; data: Buffer }

/** A stand-in daemon: 3 active nodes, this one (0) the leader; `failing` nodes refuse SET_RECMODE. */
function fakeDaemon(opts: { failing?: number[]; enableBans?: boolean } = {}) {
  const sent: Sent[] = [];
  const rules: BanRules = { gracePeriodSec: 120, banPeriodSec: 300, enabled: opts.enableBans ?? true };
  const credits = new BanCredits();
  const d = {
    pnn: 0,
    vnnmap: { generation: INVALID_GENERATION, map: [] as number[] },
    recmode: RecMode.ACTIVE,
    opts: { paths: { testMode: true } },
    log: { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} },
    stats: { numRecoveries: 0 },
    lastRecoveryStarted: 0,
    election: { isLeader: () => true },
    membership: { ownFlags: 0, activeNodes: () => [0, 1, 2] },
    tunable: (name: string) => (name === 'RecoverTimeout' ? 1 : 0),
    leadership: {
      credits,
      banRules: () => rules,
      numNodes: () => 3,
      addCredits: (pnn: number, n: number) => credits.add(pnn, n, 0, rules),
    },
    broadcastMessage: () => {},
    takeoverRun: async () => 0,
    sendControl: async (pnn: number, opcode: number, data: Buffer): Promise<ControlReply> => {
      sent.push({ pnn, opcode, data });
      if (opcode === Opcode.GET_CAPABILITIES) {
        const b = Buffer.alloc(4); b.writeUInt32LE(Capability.LMASTER | Capability.RECMASTER); return { status: 0, data: b };
      }
      if (opcode === Opcode.SET_RECMODE && opts.failing?.includes(pnn)) return { status: -1, errmsg: 'refused' };
      return { status: 0 };
    },
  };
  return { d, sent, credits, loop: new LeaderLoop(d as unknown as Ctdbd) };
}

describe('LeaderLoop ban credits', () => {
  it('a node failing a recovery control gets one credit per failed recovery', async () => {
    const f = fakeDaemon({ failing: [2] });
    expect(await f.loop.runRecovery('test')).toBe(false);
    expect(await f.loop.runRecovery('test')).toBe(false);
    expect(f.credits.list()).toEqual([{ pnn: 2, count: 2 }]);
  });

  it('at 2 x num_nodes credits the next recovery first bans the node for RecoveryBanPeriod', async () => {
    const f = fakeDaemon({ failing: [2] });
    for (let i = 0; i < 6; i++) await f.loop.runRecovery('test');
    expect(f.credits.count(2)).toBe(6);
    expect(await f.loop.needRecovery()).toBeDefined();
    f.sent.length = 0;
    expect(await f.loop.runRecovery('test')).toBe(false);
    const bans = f.sent.filter((s) => s.opcode === Opcode.SET_BAN_STATE);
    expect(bans.map((b) => ({ to: b.pnn, ...decodeBanState(new Reader(b.data)) }))).toEqual([{ to: 2, pnn: 2, time: 300 }]);
    // The recovery itself waits for the next step (flags must settle first).
    expect(f.sent.some((s) => s.opcode === Opcode.SET_RECMODE)).toBe(false);
    expect(f.credits.count(2)).toBe(0);
  });

  it('EnableBans=0: credits pile up but nobody is banned', async () => {
    const f = fakeDaemon({ failing: [1], enableBans: false });
    for (let i = 0; i < 8; i++) await f.loop.runRecovery('test');
    expect(f.credits.count(1)).toBe(8);
    expect(f.sent.some((s) => s.opcode === Opcode.SET_BAN_STATE)).toBe(false);
  });

  it('a successful recovery clears every credit', async () => {
    const f = fakeDaemon();
    f.credits.add(1, 3, 0, f.d.leadership.banRules());
    expect(await f.loop.runRecovery('test')).toBe(true);
    expect(f.credits.list()).toEqual([]);
    expect(f.d.stats.numRecoveries).toBe(1);
  });
});
