import { describe, expect, it } from 'vitest';
import { Reader, writeAll } from '../protocol/buffer.js';
import { ControlFlag, NodeFlag } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import { decodePublicIp, encodeNodeMap, encodePublicIpList } from '../protocol/payloads.js';
import { runTakeover, type TakeoverIo } from './run.js';

const UNKNOWN = 0xffffffff;

/** A scripted cluster: per node its flags, public IPs (address → believed owner) and which it hosts. */
function fakeCluster(flags: number[], ips: string[][], opts: { failTake?: number; tunables?: Record<string, number> } = {}) {
  const hosted = flags.map(() => new Set<string>());
  const believed = flags.map((_, p) => new Map(ips[p]!.map((a) => [a, UNKNOWN])));
  const log: string[] = [];
  const io: TakeoverIo = {
    myPnn: 0,
    tunable: async (name) => opts.tunables?.[name] ?? ({ TakeoverTimeout: 9, IPAllocAlgorithm: 2 } as Record<string, number>)[name] ?? 0,
    async control(pnn, opcode, data, o) {
      const ok = (d: Buffer = Buffer.alloc(0)) => ({ status: 0, data: d, errmsg: '' });
      if (flags[pnn]! & NodeFlag.DISCONNECTED) throw new Error(`node ${pnn} is disconnected`);
      switch (opcode) {
        case Opcode.GET_NODEMAP:
          return ok(writeAll(encodeNodeMap, { nodes: flags.map((f, p) => ({ pnn: p, flags: f, addr: { family: 'inet' as const, address: `127.0.0.${p + 1}`, port: 4379 } })) }));
        case Opcode.GET_PUBLIC_IPS: {
          const avail = ((o.flags ?? 0) & ControlFlag.GET_PUBLIC_IPS_AVAILABLE) !== 0;
          const list = [...believed[pnn]!].filter(() => !avail || (flags[pnn]! & (NodeFlag.INACTIVE | NodeFlag.DISABLED)) === 0)
            .map(([a, owner]) => ({ pnn: hosted[pnn]!.has(a) ? pnn : owner, addr: { family: 'inet' as const, address: a, port: 0 } }));
          return ok(writeAll(encodePublicIpList, { ips: list }));
        }
        case Opcode.RELEASE_IP: {
          const ip = decodePublicIp(new Reader(data));
          log.push(`release ${ip.addr.address} on ${pnn}`);
          hosted[pnn]!.delete(ip.addr.address);
          believed[pnn]!.set(ip.addr.address, ip.pnn);
          return ok();
        }
        case Opcode.TAKEOVER_IP: {
          const ip = decodePublicIp(new Reader(data));
          log.push(`take ${ip.addr.address} on ${pnn}`);
          if (opts.failTake === pnn) return { status: -1, data: Buffer.alloc(0), errmsg: 'takeip event failed' };
          hosted[pnn]!.add(ip.addr.address);
          return ok();
        }
        case Opcode.IPREALLOCATED: log.push(`ipreallocated on ${pnn}`); return ok();
        case 161: log.push(`startipreallocate on ${pnn}`); return ok();
        default: throw new Error(`unexpected opcode ${opcode}`);
      }
    },
  };
  return { io, hosted, log };
}

const ALL = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

describe('runTakeover', () => {
  it('hosts every address once, in lock-step phases', async () => {
    const f = fakeCluster([0, 0, 0], [ALL, ALL, ALL]);
    const r = await runTakeover(f.io);
    expect(r.ok).toBe(true);
    expect(f.hosted.map((h) => h.size)).toEqual([1, 1, 1]);
    expect(new Set(f.hosted.flatMap((h) => [...h]))).toEqual(new Set(ALL));
    const phase = (l: string): number => ['startipreallocate', 'release', 'take', 'ipreallocated'].indexOf(l.split(' ')[0]!);
    const phases = f.log.map(phase);
    expect([...phases].sort((a, b) => a - b)).toEqual(phases);
    // Every node that knows an address and is not its owner hears who the owner is.
    expect(f.log.filter((l) => l.startsWith('release')).length).toBe(6);
  });

  it('never gives an address to a node that does not list it, nor to a disabled or disconnected node', async () => {
    const f = fakeCluster([0, NodeFlag.PERMANENTLY_DISABLED, NodeFlag.DISCONNECTED, 0], [ALL, ALL, ALL, ['10.0.0.3']]);
    const r = await runTakeover(f.io);
    expect(r.ok).toBe(true);
    expect([...f.hosted[1]!, ...f.hosted[2]!]).toEqual([]);
    expect([...f.hosted[3]!].every((a) => a === '10.0.0.3')).toBe(true);
    expect(f.log.some((l) => l.endsWith(' on 2'))).toBe(false);
  });

  it('a failing takeover fails the run and names the node for ban credits', async () => {
    const f = fakeCluster([0, 0, 0], [ALL, ALL, ALL], { failTake: 1 });
    const r = await runTakeover(f.io);
    expect(r.ok).toBe(false);
    expect(r.culprit).toBe(1);
    expect(r.errors.join('\n')).toContain('takeip event failed');
    expect(f.log.filter((l) => l.startsWith('ipreallocated')).length).toBe(3);
  });

  it('NoIPTakeover keeps current hosts and leaves the rest unassigned', async () => {
    const f = fakeCluster([0, 0], [ALL, ALL], { tunables: { NoIPTakeover: 1 } });
    f.hosted[0]!.add('10.0.0.1');
    const r = await runTakeover(f.io);
    expect(r.ok).toBe(true);
    expect([...f.hosted[0]!]).toEqual(['10.0.0.1']);
    expect(f.hosted[1]!.size).toBe(0);
    expect(r.owners.get('10.0.0.2')).toBe(-1);
  });

  it('with failover disabled only the ipreallocated phase runs', async () => {
    const f = fakeCluster([0, 0], [ALL, ALL]);
    const r = await runTakeover(f.io, { failoverDisabled: true });
    expect(r.ok).toBe(true);
    expect(f.log).toEqual(['ipreallocated on 0', 'ipreallocated on 1']);
  });
});
