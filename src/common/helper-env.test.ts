import { describe, expect, it } from 'vitest';
import { DEFAULT_HELPER_PATH, helperEnv } from './helper-env.js';

describe('helperEnv', () => {
  const daemon = {
    PATH: '/bin', LANG: 'C.UTF-8', LC_TIME: 'C', TZ: 'UTC', CTDB_BASE: '/etc/ctdb', CTDB_TEST_MODE: 'yes',
    FOO_SECRET: 'x', CTDB_TEST_SECRET_X: 'y', AWS_SECRET_ACCESS_KEY: 'z', NODE_OPTIONS: '--require /tmp/evil.js',
  };

  it('keeps the allowlisted names and drops everything else', () => {
    expect(helperEnv({}, daemon)).toEqual({ PATH: '/bin', LANG: 'C.UTF-8', LC_TIME: 'C', TZ: 'UTC', CTDB_BASE: '/etc/ctdb', CTDB_TEST_MODE: 'yes' });
  });

  it('lays the call site\'s variables on top; undefined removes one', () => {
    expect(helperEnv({ CTDB_BASE: '/b', CTDB_SOCKET: '/s', TZ: undefined }, daemon))
      .toMatchObject({ CTDB_BASE: '/b', CTDB_SOCKET: '/s' });
    expect(helperEnv({ TZ: undefined }, daemon).TZ).toBeUndefined();
  });

  it('always has a PATH', () => {
    expect(helperEnv({}, {}).PATH).toBe(DEFAULT_HELPER_PATH);
  });
});
