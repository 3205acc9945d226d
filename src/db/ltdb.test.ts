import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordFlag } from '../protocol/constants.js';
import { LTDB_HEADER_SIZE, decodeHeaderBytes, decodeRecordValue, encodeHeaderBytes, encodeRecordValue, recordFlagNames } from './ltdb.js';

describe('ltdb header', () => {
  it('matches the bytes tdbdump showed for a volatile record (wire-protocol.md §7)', () => {
    const golden = Buffer.from('0700000000000000' + '00000000' + '00000000' + '00000100' + '00000000' + '7631', 'hex');
    const value = encodeRecordValue({ rsn: 7n, dmaster: 0, flags: RecordFlag.MIGRATED_WITH_DATA }, Buffer.from('v1'));
    expect(value).toEqual(golden);
    expect(decodeRecordValue(golden)).toEqual({ header: { rsn: 7n, dmaster: 0, flags: 0x10000 }, data: Buffer.from('v1') });
  });

  it('round-trips any header and data', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.uint8Array({ maxLength: 64 }),
      (rsn, dmaster, flags, data) => {
        const header = { rsn, dmaster, flags };
        const value = encodeRecordValue(header, Buffer.from(data));
        expect(value.length).toBe(LTDB_HEADER_SIZE + data.length);
        expect(decodeRecordValue(value)).toEqual({ header, data: Buffer.from(data) });
        expect(decodeHeaderBytes(encodeHeaderBytes(header))).toEqual(header);
      }));
  });

  it('treats a value shorter than the header as no record', () => {
    expect(decodeRecordValue(Buffer.alloc(23))).toBeUndefined();
    expect(decodeRecordValue(Buffer.alloc(24))).toEqual({ header: { rsn: 0n, dmaster: 0, flags: 0 }, data: Buffer.alloc(0) });
    expect(() => decodeHeaderBytes(Buffer.alloc(10))).toThrow(expect.objectContaining({ code: 'EMSGSIZE' }));
  });
});

describe('recordFlagNames', () => {
  it.each([
    [0, ''],
    [0x00010000, ' MIGRATED_WITH_DATA'],
    [0x00070000, ' MIGRATED_WITH_DATA VACUUM_MIGRATED AUTOMATIC'],
    [0x0f000000, ' RO_HAVE_DELEGATIONS RO_HAVE_READONLY RO_REVOKING_READONLY RO_REVOKE_COMPLETE'],
    [0x00010003, ' MIGRATED_WITH_DATA PERSISTENT PERSISTENT_IN_PROGRESS'],
    [0x00000100, ''],
  ])('flags 0x%s → "%s"', (flags, want) => {
    expect(recordFlagNames(flags)).toBe(want);
  });
});
