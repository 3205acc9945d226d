import { describe, expect, it } from 'vitest';
import { Operation } from '../protocol/constants.js';
import { acceptSource, type PeerAddress } from './transport.js';

const peers: PeerAddress[] = [
  { pnn: 0, address: '10.0.0.1', deleted: false }, { pnn: 1, address: '10.0.0.2', deleted: false },
  { pnn: 2, address: '10.0.0.3', deleted: true }, { pnn: 3, address: '10.0.0.4', deleted: false },
];

describe('acceptSource: srcnode checks on the node port', () => {
  it.each([
    ['any packet naming its sender', { operation: Operation.REQ_CONTROL, srcnode: 1 }, 1, true],
    ['a control claiming another node', { operation: Operation.REQ_CONTROL, srcnode: 3 }, 1, false],
    ['REQ_DMASTER claiming another node', { operation: Operation.REQ_DMASTER, srcnode: 3 }, 1, false],
    ['a redirected REQ_CALL keeping its requester', { operation: Operation.REQ_CALL, srcnode: 3, hopcount: 1 }, 1, true],
    ['our own REQ_CALL coming back redirected', { operation: Operation.REQ_CALL, srcnode: 0, hopcount: 2 }, 1, true],
    ['a REQ_CALL at hop 0 claiming another node', { operation: Operation.REQ_CALL, srcnode: 3, hopcount: 0 }, 1, false],
    ['a redirected REQ_CALL naming a deleted node', { operation: Operation.REQ_CALL, srcnode: 2, hopcount: 1 }, 1, false],
    ['a redirected REQ_CALL naming no node at all', { operation: Operation.REQ_CALL, srcnode: 77, hopcount: 1 }, 1, false],
    ['a REPLY_DMASTER claiming another node', { operation: Operation.REPLY_DMASTER, srcnode: 0, hopcount: 1 }, 1, false],
  ])('%s', (_name, p, from, want) => {
    expect(acceptSource(p, from, peers)).toBe(want);
  });
});
