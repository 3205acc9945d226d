import { describe, expect, it } from 'vitest';
import { buildGratuitousArp, buildNeighbourAdvert } from './announce.js';

const MAC = Uint8Array.from([0xde, 0x47, 0x69, 0x88, 0x9b, 0x0d]);

describe('announcement packets', () => {
  it('gratuitous ARP request: sender and target are the address, target MAC zero', () => {
    expect(buildGratuitousArp(MAC, '10.79.0.1', 1).toString('hex'))
      .toBe('0001080006040001' + 'de4769889b0d' + '0a4f0001' + '000000000000' + '0a4f0001');
  });
  it('gratuitous ARP reply carries the MAC as target too', () => {
    expect(buildGratuitousArp(MAC, '10.79.0.1', 2).toString('hex'))
      .toBe('0001080006040002' + 'de4769889b0d' + '0a4f0001' + 'de4769889b0d' + '0a4f0001');
  });
  it('neighbour advertisement: type 136, override flag, target, link-layer option', () => {
    expect(buildNeighbourAdvert(MAC, 'fd00:79::1').toString('hex'))
      .toBe('88000000' + '20000000' + 'fd000079000000000000000000000001' + '0201' + 'de4769889b0d');
  });
});
