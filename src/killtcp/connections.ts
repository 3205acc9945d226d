/**
 * Pure parsing of the connections killtcp is asked to reset: `CLIENT SERVER`
 * pairs of `ip:port` (IPv6 as `[addr]:port`).
 */
import { formatIpPort, parseIpPort } from '../common/address.js';
import { CtdbError } from '../common/errors.js';
import type { Endpoint } from './packet.js';

/** A TCP connection as killtcp sees it: the remote client and the local server. */
export interface Connection { client: Endpoint; server: Endpoint }

/** A line of input that could not be used, with its 1-based number. */
export interface LineError { line: number; message: string }

/** The table key for a connection; the same text for the same pair of endpoints. */
export function connectionKey(client: Endpoint, server: Endpoint): string {
  return `${client.address}|${client.port}|${server.address}|${server.port}`;
}

/** `CLIENT SERVER` text for messages and logs. */
export function formatConnection(c: Connection): string {
  return `${formatIpPort(c.client)} ${formatIpPort(c.server)}`;
}

// Plain dotted quad without leading zeros and a port: already canonical text.
const SIMPLE_V4 = /^((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}):([1-9]\d{0,4}|0)$/;

/** parseIpPort with a fast path for the common IPv4 case (thousands of lines per batch). */
function parseEndpoint(text: string): Endpoint {
  const m = SIMPLE_V4.exec(text);
  if (m && Number(m[2]) <= 65535) return { address: m[1]!, port: Number(m[2]), family: 'inet' };
  return parseIpPort(text);
}

/**
 * Parses a client and a server endpoint. Throws CtdbError EINVAL naming the
 * bad part when an endpoint does not parse or the families differ.
 */
export function parseConnection(clientText: string, serverText: string): Connection {
  const client = parseEndpoint(clientText);
  const server = parseEndpoint(serverText);
  if (client.family !== server.family) {
    throw new CtdbError('EINVAL', `client ${clientText} and server ${serverText} are of different address families`);
  }
  return { client, server };
}

/**
 * Parses one input line of exactly two fields. Returns undefined for a blank
 * line; throws CtdbError EINVAL for anything else that is not a connection.
 */
export function parseConnectionLine(line: string): Connection | undefined {
  const fields = line.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length === 0) return undefined;
  if (fields.length !== 2) {
    throw new CtdbError('EINVAL', `expected 'CLIENT SERVER', got ${fields.length} field(s)`);
  }
  return parseConnection(fields[0]!, fields[1]!);
}

/**
 * Parses many lines: good lines become connections, bad ones become errors
 * naming their line number (`firstLine` is the number of `lines[0]`).
 */
export function parseConnectionLines(lines: readonly string[], firstLine = 1):
  { connections: Connection[]; errors: LineError[] } {
  const connections: Connection[] = [];
  const errors: LineError[] = [];
  lines.forEach((text, i) => {
    try {
      const c = parseConnectionLine(text);
      if (c) connections.push(c);
    } catch (err) {
      errors.push({ line: firstLine + i, message: err instanceof Error ? err.message : String(err) });
    }
  });
  return { connections, errors };
}
