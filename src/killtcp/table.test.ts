import { describe, expect, it } from 'vitest';
import { parseConnection, type Connection } from './connections.js';
import { TcpFlags, type CapturedSegment } from './packet.js';
import { DEFAULT_LIMITS, KillTable, type KillLimits } from './table.js';

const conn = (i: number): Connection => parseConnection(`10.99.0.1:${10000 + i}`, '10.99.0.2:445');
/** The server's answer to a tickle on `c`, as the capture sees it. */
const answer = (c: Connection, seq: number, ack: number): CapturedSegment =>
  ({ src: c.server, dst: c.client, seq, ack, flags: TcpFlags.ACK, window: 502 });
const table = (n: number, limits: Partial<KillLimits> = {}): KillTable => {
  const t = new KillTable({ ...DEFAULT_LIMITS, ...limits });
  for (let i = 0; i < n; i++) t.add(conn(i));
  return t;
};

describe('KillTable', () => {
  it('merges duplicate connections', () => {
    const t = table(3);
    expect(t.add(conn(1))).toBe(false);
    expect(t.remaining).toBe(3);
  });

  it('tickles every connection from client to server in the first round', () => {
    const t = table(3);
    const out = t.startRound(0);
    expect(out).toHaveLength(3);
    expect(out[0]).toEqual({ src: conn(0).client, dst: conn(0).server, seq: 0, ack: 0, rst: false });
    expect(t.roundsDone).toBe(1);
  });

  it('answers the server\'s ACK with an RST carrying its ack as seq', () => {
    const t = table(2);
    t.startRound(0);
    const rst = t.onCaptured(answer(conn(1), 1000, 0xfffffff0));
    expect(rst).toEqual({ src: conn(1).client, dst: conn(1).server, seq: 0xfffffff0, ack: 1000, rst: true });
    expect(t.remaining).toBe(1);
    // A second answer on the same connection is not answered again.
    expect(t.onCaptured(answer(conn(1), 1000, 0xfffffff0))).toBeUndefined();
    expect(t.stats).toMatchObject({ resets: 1, unmatched: 1 });
  });

  it('ignores its own packets and packets in the client-to-server direction', () => {
    const t = table(1);
    const c = conn(0);
    expect(t.onCaptured({ src: c.client, dst: c.server, seq: 0, ack: 0, flags: TcpFlags.ACK, window: 1234 })).toBeUndefined();
    expect(t.onCaptured({ src: c.client, dst: c.server, seq: 5, ack: 6, flags: TcpFlags.ACK, window: 100 })).toBeUndefined();
    expect(t.stats).toMatchObject({ ignoredOwn: 1, unmatched: 1, resets: 0 });
    expect(t.remaining).toBe(1);
  });

  it.each([
    // [time of each round attempt, tickles each returns] with retry gap 500 ms, rounds 100 ms apart
    { times: [0, 50, 100, 200, 499, 500, 599], sent: [2, 0, 0, 0, 0, 0, 2] },
    { times: [0, 100, 600, 1000, 1100], sent: [2, 0, 2, 0, 2] },
  ])('does not retry a connection sooner than the gap: $times', ({ times, sent }) => {
    const t = table(2);
    expect(times.map((ms) => t.startRound(ms).length)).toEqual(sent);
  });

  it('caps tickles per round and reaches the rest in later rounds', () => {
    const t = table(5, { perRound: 2 });
    expect(t.startRound(0).map((s) => s.src.port)).toEqual([10000, 10001]);
    expect(t.startRound(100).map((s) => s.src.port)).toEqual([10002, 10003]);
    expect(t.startRound(200).map((s) => s.src.port)).toEqual([10004]);
  });

  it('stops after maxRounds and one more interval for late answers', () => {
    const t = table(1, { maxRounds: 3 });
    let now = 0;
    for (let i = 0; i < 100 && !t.isFinished(now); i++, now += 50) t.startRound(now);
    expect(t.roundsDone).toBe(3);
    expect(now).toBe(300);
    expect(t.nextRoundAt()).toBe(Number.POSITIVE_INFINITY);
    expect(t.pending()).toEqual([conn(0)]);
  });

  it('finishes as soon as every connection is reset', () => {
    const t = table(2);
    t.startRound(0);
    expect(t.isFinished(1)).toBe(false);
    t.onCaptured(answer(conn(0), 1, 2));
    t.onCaptured(answer(conn(1), 1, 2));
    expect(t.isFinished(1)).toBe(true);
    expect(t.nextRoundAt()).toBe(Number.POSITIVE_INFINITY);
  });

  it('matches IPv6 connections by canonical address', () => {
    const t = new KillTable();
    const c = parseConnection('[FD99:0::1]:40000', '[fd99::0:2]:80');
    t.add(c);
    const seg: CapturedSegment = {
      src: { address: 'fd99::2', port: 80, family: 'inet6' }, dst: { address: 'fd99::1', port: 40000, family: 'inet6' },
      seq: 9, ack: 8, flags: TcpFlags.ACK, window: 100,
    };
    expect(t.onCaptured(seg)).toMatchObject({ seq: 8, ack: 9, rst: true });
  });
});
