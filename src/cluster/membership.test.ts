import { describe, expect, it } from 'vitest';
import { NodeFlag } from '../protocol/constants.js';
import { Membership } from './membership.js';

const nodes = [
  { pnn: 0, address: '127.0.0.1', deleted: false },
  { pnn: 1, address: '127.0.0.2', deleted: false },
  { pnn: 2, address: '127.0.0.3', deleted: true },
];

describe('Membership', () => {
  it('starts with peers disconnected and deleted nodes flagged', () => {
    const m = new Membership(nodes, 0, 0);
    expect(m.flagsOf(0)).toBe(0);
    expect(m.flagsOf(1)).toBe(NodeFlag.DISCONNECTED);
    expect(m.flagsOf(2) & NodeFlag.DELETED).toBe(NodeFlag.DELETED);
    expect(m.activeNodes()).toEqual([0]);
  });

  it('declares a silent peer dead after KeepaliveLimit intervals, not before', () => {
    const m = new Membership(nodes, 0, 0);
    m.connected(1);
    expect(m.keepaliveTick(3)).toEqual({ send: [1], dead: [] }); // heard at connect
    expect(m.keepaliveTick(3)).toEqual({ send: [1], dead: [] }); // 1 silent
    expect(m.keepaliveTick(3)).toEqual({ send: [1], dead: [] }); // 2 silent
    expect(m.keepaliveTick(3)).toEqual({ send: [], dead: [1] }); // 3 silent
    expect(m.flagsOf(1) & NodeFlag.DISCONNECTED).toBe(NodeFlag.DISCONNECTED);
  });

  it('resets the dead count on any traffic', () => {
    const m = new Membership(nodes, 0, 0);
    m.connected(1);
    for (let i = 0; i < 10; i++) {
      m.heard(1);
      expect(m.keepaliveTick(2).dead).toEqual([]);
    }
  });

  it('keeps DISCONNECTED local: reported flags never carry it', () => {
    const m = new Membership(nodes, 0, 0);
    m.connected(1);
    m.setFlags(1, NodeFlag.BANNED | NodeFlag.DISCONNECTED);
    expect(m.flagsOf(1)).toBe(NodeFlag.BANNED);
    expect(m.activeNodes()).toEqual([0]);
  });

  it('keeps state of surviving nodes across reset (reloadnodes)', () => {
    const m = new Membership(nodes, 0, 0);
    m.connected(1);
    m.setFlags(1, NodeFlag.STOPPED);
    m.reset([...nodes.slice(0, 2), { pnn: 2, address: '127.0.0.3', deleted: false }]);
    expect(m.flagsOf(1)).toBe(NodeFlag.STOPPED);
    expect(m.flagsOf(2)).toBe(NodeFlag.DISCONNECTED);
  });
});
