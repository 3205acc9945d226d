/**
 * Every payload codec of the CTDB wire protocol (pure, no I/O), re-exported
 * from one place. Layouts follow spec/wire-protocol.md §4, 64-bit little-endian.
 */
export * from './sock-addr.js';
export * from './types.js';
export * from './ip-types.js';
export * from './records.js';
export * from './statistics.js';
export * from './backup.js';
export * from './hash.js';
export { payloadCodecs, encodeCString, decodeCString, sampleStatistics, type Codec, type PayloadCodecName } from './codecs.js';
export { controlCodecs, controlCodec, type ControlCodec } from './controls.js';
export { messageCodec, messageCodecs } from './messages.js';
