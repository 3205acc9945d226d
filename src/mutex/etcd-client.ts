/**
 * A minimal etcd v3 client over etcd's JSON/HTTP gateway (`/v3/...`), using
 * the global fetch(). Keys and values travel base64-encoded; 64-bit numbers
 * (lease IDs, revisions, TTLs) travel as decimal strings and stay strings.
 */
import { CtdbError, oneLine } from '../common/errors.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** One key as etcd returns it. */
export interface EtcdKeyValue {
  key: string;
  value: string;
  /** Lease ID the key is attached to, '0' when none. */
  lease: string;
  createRevision: string;
}

interface RawKv { key?: string; value?: string; lease?: string; create_revision?: string }

const decodeKv = (kv: RawKv): EtcdKeyValue =>
  ({ key: unb64(kv.key), value: unb64(kv.value), lease: kv.lease ?? '0', createRevision: kv.create_revision ?? '0' });

/**
 * Talks to one or more etcd endpoints (tried in order on a network failure).
 * Every request is bounded by `timeoutMs`. Failures throw CtdbError with code
 * ETIMEDOUT (no answer in time), ECONNREFUSED (no endpoint reachable) or
 * EPROTO (etcd answered with an error); the message names the endpoint.
 */
export class EtcdClient {
  constructor(private readonly endpoints: string[], private readonly timeoutMs: number) {
    if (endpoints.length === 0) throw new CtdbError('EINVAL', 'no etcd endpoint given');
  }

  private async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    let last: unknown;
    for (const endpoint of this.endpoints) {
      const url = `${endpoint.replace(/\/+$/, '')}${path}`;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'TimeoutError' || name === 'AbortError') {
          throw new CtdbError('ETIMEDOUT', `etcd at ${endpoint} did not answer ${path} within ${this.timeoutMs} ms`, { cause: err });
        }
        const cause = (err as { cause?: unknown }).cause;
        last = new CtdbError('ECONNREFUSED', `cannot reach etcd at ${endpoint} (${oneLine(cause ?? err)})`, { cause: err });
        continue;
      }
      const text = await res.text();
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch (err) {
        throw new CtdbError('EPROTO', `etcd at ${endpoint} sent non-JSON for ${path} (HTTP ${res.status}): ${text.slice(0, 80)}`, { cause: err });
      }
      if (!res.ok || json.error !== undefined) {
        throw new CtdbError('EPROTO', `etcd at ${endpoint} refused ${path}: ${String(json.message ?? json.error ?? `HTTP ${res.status}`)}`);
      }
      return json;
    }
    throw last;
  }

  /** Grants a lease of `ttlSec` seconds; resolves with its ID and the TTL etcd granted. */
  async grantLease(ttlSec: number): Promise<{ id: string; ttlSec: number }> {
    const r = await this.call('/v3/lease/grant', { TTL: String(ttlSec) });
    if (typeof r.ID !== 'string') throw new CtdbError('EPROTO', 'etcd lease grant answer has no ID');
    return { id: r.ID, ttlSec: Number(r.TTL ?? ttlSec) };
  }

  /** Renews a lease once; resolves with the remaining TTL in seconds, 0 when the lease is gone. */
  async keepAlive(id: string): Promise<number> {
    // The gateway streams one result per request object in the body.
    const r = await this.call('/v3/lease/keepalive', { ID: id });
    const result = r.result as { TTL?: string } | undefined;
    return Number(result?.TTL ?? 0);
  }

  /** Revokes a lease, deleting every key attached to it. A lease already gone is not an error. */
  async revokeLease(id: string): Promise<void> {
    try {
      await this.call('/v3/lease/revoke', { ID: id });
    } catch (err) {
      if (err instanceof CtdbError && err.code === 'EPROTO' && /lease not found/.test(err.message)) return;
      throw err;
    }
  }

  /**
   * Creates `key` = `value` attached to lease `leaseId` only if the key does
   * not exist (one transaction). Resolves { created: true } on success, or
   * { created: false, holder } with the current owner's key when it exists.
   */
  async createIfAbsent(key: string, value: string, leaseId: string): Promise<{ created: boolean; holder?: EtcdKeyValue }> {
    const k = b64(key);
    const r = await this.call('/v3/kv/txn', {
      compare: [{ key: k, target: 'CREATE', create_revision: '0', result: 'EQUAL' }],
      success: [{ request_put: { key: k, value: b64(value), lease: leaseId } }],
      failure: [{ request_range: { key: k } }],
    });
    if (r.succeeded === true) return { created: true };
    const responses = (r.responses ?? []) as Array<{ response_range?: { kvs?: RawKv[] } }>;
    const kv = responses[0]?.response_range?.kvs?.[0];
    return kv ? { created: false, holder: decodeKv(kv) } : { created: false };
  }

  /** Reads one key; undefined when it does not exist. */
  async get(key: string): Promise<EtcdKeyValue | undefined> {
    const r = await this.call('/v3/kv/range', { key: b64(key) });
    const kvs = (r.kvs ?? []) as RawKv[];
    return kvs[0] ? decodeKv(kvs[0]) : undefined;
  }

  /** Deletes one key; resolves with how many keys were deleted (0 or 1). */
  async delete(key: string): Promise<number> {
    const r = await this.call('/v3/kv/deleterange', { key: b64(key) });
    return Number(r.deleted ?? 0);
  }
}
