import { describe, expect, it } from 'vitest';
import { IpTable, UNKNOWN_PNN } from './ip-state.js';

const table = () => {
  const t = new IpTable();
  t.add({ address: '10.0.0.1', mask: 24, ifaces: ['eth1', 'eth2'] });
  t.add({ address: '10.0.0.2', mask: 24, ifaces: ['eth1', 'eth2'] });
  t.add({ address: '10.0.0.3', mask: 24, ifaces: ['eth2'] });
  return t;
};

describe('IpTable', () => {
  it('starts with every address unassigned and every interface up', () => {
    const t = table();
    expect(t.list().map((e) => e.pnn)).toEqual([UNKNOWN_PNN, UNKNOWN_PNN, UNKNOWN_PNN]);
    expect([...t.ifaces.values()]).toEqual([{ name: 'eth1', linkUp: true, references: 0 }, { name: 'eth2', linkUp: true, references: 0 }]);
  });
  it('refuses an address added twice', () => {
    expect(() => table().add({ address: '10.0.0.1', mask: 24, ifaces: ['eth1'] })).toThrow('already configured');
  });
  it('picks the up interface with fewest references, first on ties', () => {
    const t = table();
    const [a, b, c] = t.list();
    expect(t.planTake(a!)).toEqual({ kind: 'takeip', iface: 'eth1' });
    t.setActive(a!, 'eth1');
    expect(t.planTake(b!)).toEqual({ kind: 'takeip', iface: 'eth2' });
    t.setLink('eth2', false);
    expect(t.planTake(b!)).toEqual({ kind: 'takeip', iface: 'eth1' });
    expect(() => t.planTake(c!)).toThrow('no interface with link up');
    expect(t.hasLinkUp(c!)).toBe(false);
  });
  it('moves an active address off a downed interface with updateip', () => {
    const t = table();
    const a = t.list()[0]!;
    t.setActive(a, 'eth1');
    expect(t.planTake(a)).toEqual({ kind: 'none', iface: 'eth1' });
    t.setLink('eth1', false);
    expect(t.planTake(a)).toEqual({ kind: 'updateip', oldIface: 'eth1', iface: 'eth2' });
    t.setActive(a, 'eth2');
    expect(t.ifaces.get('eth1')!.references).toBe(0);
    expect(t.ifaces.get('eth2')!.references).toBe(1);
  });
  it('keeps tickles per address, filters by port, and marks changes for replication', () => {
    const t = table();
    const c1 = { client: { address: '10.9.0.1', port: 1000 }, server: { address: '10.0.0.1', port: 445 } };
    const c2 = { client: { address: '10.9.0.2', port: 1000 }, server: { address: '10.0.0.1', port: 2049 } };
    expect(t.addConnection(c1)).toBe(true);
    expect(t.addConnection(c1)).toBe(false);
    expect(t.addConnection(c2)).toBe(true);
    expect(t.addConnection({ ...c1, server: { address: '10.7.7.7', port: 1 } })).toBe(false);
    expect(t.connections('10.0.0.1', 445)).toEqual([c1]);
    expect([...t.tickleDirty]).toEqual(['10.0.0.1']);
    expect(t.removeConnection(c1)).toBe(true);
    t.replaceConnections('10.0.0.1', [c1]);
    expect(t.connections('10.0.0.1')).toEqual([c1]);
  });
  it('forgets interfaces no address uses any more', () => {
    const t = table();
    t.remove('10.0.0.3');
    expect([...t.ifaces.keys()]).toEqual(['eth1', 'eth2']);
    t.remove('10.0.0.1'); t.remove('10.0.0.2');
    expect(t.ifaces.size).toBe(0);
  });
});
