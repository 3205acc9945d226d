import { describe, expect, it } from 'vitest';
import { jsonKey, jsonValue, pairsToJson, tableToJson, toJson } from './json.js';

describe('--json conversion', () => {
  it.each([
    ['Public IP', 'publicIp'], ['ThisNode', 'thisNode'], ['PNN', 'pnn'], ['ID', 'id'],
    ['LinkStatus', 'linkStatus'], ['Destination IP', 'destinationIp'], ['PartiallyOnline', 'partiallyOnline'],
  ])('key %s -> %s', (h, k) => { expect(jsonKey(h)).toBe(k); });

  it('keeps hex ids, addresses and flags text as strings', () => {
    expect(jsonValue('12')).toBe(12);
    expect(jsonValue('-1')).toBe(-1);
    expect(jsonValue('0x1A')).toBe('0x1A');
    expect(jsonValue('007')).toBe('007');
    expect(jsonValue('10.0.0.1')).toBe('10.0.0.1');
    expect(jsonValue('99999999999999999999')).toBe('99999999999999999999');
  });

  it('turns a -X table into objects, numbering repeated columns', () => {
    expect(tableToJson('|Source IP|Port|Destination IP|Port|\n|10.0.0.1|41000|10.0.0.9|445|\n', '|')).toEqual([
      { sourceIp: '10.0.0.1', port: 41000, destinationIp: '10.0.0.9', port2: 445 }]);
    expect(tableToJson('|0|10.0.0.1|\n|1|10.0.0.2|\n', '|', ['pnn', 'address'])).toEqual([
      { pnn: 0, address: '10.0.0.1' }, { pnn: 1, address: '10.0.0.2' }]);
    expect(() => tableToJson('Public IPs on node 0\n', '|')).toThrow('not a machine-readable row');
  });

  it('accepts the statistics -X header without a leading separator and keeps raw keys', () => {
    expect(toJson({ kind: 'table', single: true, rawKeys: true }, 'CTDB version|num_clients|\n1|3|\n', '|'))
      .toBe('{\n  "CTDB version": 1,\n  "num_clients": 3\n}\n');
  });

  it('turns name = value lines into one object', () => {
    expect(pairsToJson('SeqnumInterval             = 1000\nControlTimeout = 60\n', '=')).toEqual({ SeqnumInterval: 1000, ControlTimeout: 60 });
    expect(pairsToJson('dbid: 0x12\nHEALTH: OK\n', ':')).toEqual({ dbid: '0x12', HEALTH: 'OK' });
  });
});
