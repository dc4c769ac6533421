// The FleetLock files: where the server is, the group, the id; errors that name the file, the value and the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFleetLock } from '../../src/config/fleet-lock-config.ts';
import { ConfigError } from '../../src/core/errors.ts';

const DIR = '/etc/teleport-upgrade.d';
const fails = (base: string | undefined, group: string | undefined, id: string | undefined, message: RegExp) =>
  assert.throws(
    () => parseFleetLock(DIR, base, group, id),
    (e: unknown) => e instanceof ConfigError && message.test(e.message),
  );

describe('parseFleetLock', () => {
  it('is undefined without a fleetlock file: each host decides alone', () => {
    assert.equal(parseFleetLock(DIR, undefined, undefined, undefined), undefined);
    assert.equal(parseFleetLock(DIR, '# not yet\n', undefined, undefined), undefined);
  });
  it('reads the base URL (no trailing slash), the group (default "default") and an explicit id', () => {
    assert.deepEqual(parseFleetLock(DIR, 'https://airlock.example.com:3333/\n', undefined, undefined), {
      base: 'https://airlock.example.com:3333',
      group: 'default',
      id: undefined,
    });
    assert.deepEqual(parseFleetLock(DIR, '# the lock\r\nhttps://lock.example.com/fleet/\r\n', 'workers\n', 'node-17.example.com\n'), {
      base: 'https://lock.example.com/fleet',
      group: 'workers',
      id: 'node-17.example.com',
    });
    assert.equal(parseFleetLock(DIR, 'http://127.0.0.1:3333', undefined, undefined)?.base, 'http://127.0.0.1:3333');
    assert.equal(parseFleetLock(DIR, 'http://localhost:3333/base', undefined, undefined)?.base, 'http://localhost:3333/base');
  });
  it('refuses plain http to anything but loopback, other schemes, credentials, queries and no URL at all', () => {
    fails(
      'http://airlock.example.com:3333',
      undefined,
      undefined,
      /plain http is only allowed for localhost or a loopback address, not airlock\.example\.com; use https/,
    );
    fails('ftp://airlock.example.com', undefined, undefined, /its scheme is ftp, not https/);
    fails('https://user:secret@airlock.example.com', undefined, undefined, /holds credentials/);
    fails('https://airlock.example.com/?group=a', undefined, undefined, /holds a query or a fragment/);
    fails(
      'airlock.example.com:3333',
      undefined,
      undefined,
      /fleetlock holds "airlock\.example\.com:3333", which cannot be used: it is not a URL with a scheme; write it as one, e\.g\. https:\/\/airlock\.example\.com:3333\./,
    );
    fails('https://exa mple.com', undefined, undefined, /is not a URL \(write it with its scheme/);
    fails('https://a.example.com\nhttps://b.example.com\n', undefined, undefined, /fleetlock holds 2 values/);
  });
  it('refuses a group or an id the protocol cannot carry, and either without a server', () => {
    fails(
      'https://lock.example.com',
      'workers and friends',
      undefined,
      /fleetlock-group holds "workers and friends", which is not a FleetLock group: letters, digits, dots and dashes only/,
    );
    fails('https://lock.example.com', 'workers_1', undefined, /not a FleetLock group/);
    fails('https://lock.example.com', undefined, 'x'.repeat(129), /fleetlock-id holds .* which is not a lock holder id/);
    fails('https://lock.example.com', undefined, 'a b', /not a lock holder id/);
    fails(undefined, 'workers', undefined, /fleetlock-group is set but \/etc\/teleport-upgrade\.d\/fleetlock is not/);
    fails(undefined, undefined, 'node-1', /fleetlock-id is set but .*fleetlock is not/);
  });
});
