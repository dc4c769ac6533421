// Config files: the v1 reading rule, and errors that name the file, the value and the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from '../../src/config/endpoint.ts';
import { parseConfig, type ConfigFiles } from '../../src/config/parse-config.ts';
import { ConfigError } from '../../src/core/errors.ts';

const DIR = '/etc/teleport-upgrade.d';
const files = (over: Partial<Record<keyof ConfigFiles, string>> = {}): ConfigFiles => ({
  endpoint: 'proxy.example.com:443/v1/webapi/automaticupgrades/channel/default',
  insecure: undefined,
  installer: undefined,
  package: undefined,
  debug: undefined,
  'allow-prerelease': undefined,
  'health-settle': undefined,
  'teleport-config': undefined,
  metrics: undefined,
  ...over,
});
const fails = (over: Partial<Record<keyof ConfigFiles, string>>, message: RegExp) =>
  assert.throws(
    () => parseConfig(DIR, files(over)),
    (e: unknown) => e instanceof ConfigError && message.test(e.message),
  );

describe('parseConfig', () => {
  it('reads values with comments, blank lines, whitespace and CRLF', () => {
    const config = parseConfig(
      DIR,
      files({
        endpoint: '# managed by ansible\r\n\r\n  proxy.example.com:443/v1/webapi/automaticupgrades/channel/default/  \r\n',
        installer: 'apt\n',
        package: '# fips\nteleport-ent-fips\n',
        debug: 'YES',
        'allow-prerelease': 'no',
      }),
    );
    assert.deepEqual(config, {
      endpoint: {
        base: 'https://proxy.example.com/v1/webapi/automaticupgrades/channel/default',
        ping: 'https://proxy.example.com/webapi/ping',
        host: 'proxy.example.com',
        insecure: false,
      },
      installer: 'apt',
      package: 'teleport-ent-fips',
      debug: true,
      allowPrerelease: false,
      settleMs: 30_000,
      teleportConfig: '/etc/teleport.yaml',
      metrics: undefined,
      localWindows: undefined,
      freezes: [],
    });
  });
  it('reads the settle period and the agent config path, and refuses what they cannot be', () => {
    assert.equal(parseConfig(DIR, files({ 'health-settle': '45' })).settleMs, 45_000);
    assert.equal(parseConfig(DIR, files({ 'health-settle': '2m\n' })).settleMs, 120_000);
    assert.equal(parseConfig(DIR, files({ 'health-settle': '0s' })).settleMs, 0);
    assert.equal(
      parseConfig(DIR, files({ 'teleport-config': '/opt/teleport/teleport.yaml' })).teleportConfig,
      '/opt/teleport/teleport.yaml',
    );
    fails({ 'health-settle': '11m' }, /health-settle holds "11m", which is not a duration from 0 to 600 s/);
    fails({ 'health-settle': '-5' }, /health-settle holds "-5"/);
    fails({ 'health-settle': 'soon' }, /health-settle holds "soon"/);
    fails({ 'teleport-config': 'teleport.yaml' }, /teleport-config holds "teleport.yaml", which is not an absolute path/);
  });
  it('reads the metrics path, absolute and ending in .prom, and says what to write otherwise', () => {
    assert.equal(
      parseConfig(DIR, files({ metrics: '/var/lib/prometheus/node-exporter/teleport-upgrade.prom\n' })).metrics,
      '/var/lib/prometheus/node-exporter/teleport-upgrade.prom',
    );
    assert.equal(parseConfig(DIR, files()).metrics, undefined);
    for (const bad of [
      'teleport-upgrade.prom',
      '/var/lib/node-exporter/teleport-upgrade.txt',
      '/var/lib/../etc/x.prom',
      '/var/lib/a b.prom',
    ]) {
      fails(
        { metrics: bad },
        /metrics holds ".*", which is not an absolute path ending in \.prom\. Write the path of node_exporter's textfile, e\.g\. \/var\/lib\/prometheus\/node-exporter\/teleport-upgrade\.prom/,
      );
    }
  });
  it('leaves installer and package to detection when absent', () => {
    const config = parseConfig(DIR, files());
    assert.equal(config.installer, undefined);
    assert.equal(config.package, undefined);
  });
  it('says which file to write when the endpoint is missing or empty', () => {
    fails({ endpoint: undefined }, /\/etc\/teleport-upgrade\.d\/endpoint is missing\. Write your proxy's version channel/);
    fails({ endpoint: '# nothing\n\n' }, /endpoint is empty/);
  });
  it('rejects schemes, /version suffixes, odd characters and several values', () => {
    fails({ endpoint: 'https://proxy.example.com/v1' }, /starts with a scheme; write it without one/);
    fails({ endpoint: 'proxy.example.com/v1/webapi/automaticupgrades/channel/default/version' }, /ends in \/version/);
    fails({ endpoint: 'proxy.example.com/x?y=1' }, /cannot appear in host\[:port\]\/path/);
    fails({ endpoint: 'user@proxy.example.com/x' }, /cannot appear/);
    fails({ endpoint: 'a.example.com\nb.example.com' }, /holds 2 values/);
  });
  it('allows plain http only for localhost and loopback addresses', () => {
    assert.equal(parseConfig(DIR, files({ endpoint: 'localhost:8080/v1', insecure: 'yes' })).endpoint.base, 'http://localhost:8080/v1');
    assert.equal(parseConfig(DIR, files({ endpoint: '127.0.0.5/v1', insecure: 'yes' })).endpoint.base, 'http://127.0.0.5/v1');
    assert.equal(parseConfig(DIR, files({ endpoint: '[::1]:80/v1', insecure: 'yes' })).endpoint.base, 'http://[::1]/v1');
    assert.equal(parseConfig(DIR, files({ endpoint: 'localhost:443/v1', insecure: 'yes' })).endpoint.base, 'http://localhost:443/v1');
    fails(
      { endpoint: 'proxy.example.com/v1', insecure: 'yes' },
      /only allowed for localhost or a loopback address, not proxy\.example\.com/,
    );
    fails({ endpoint: '127.0.0.1.nip.io/v1', insecure: 'yes' }, /not 127\.0\.0\.1\.nip\.io/);
  });
  it('has one answer to "is this host loopback?", for insecure mode, proxies and name resolution alike', () => {
    for (const host of ['localhost', 'LOCALHOST.', 'agent.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1'])
      assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['mylocalhost', 'localhost.example.com', '127.0.0.1.nip.io', '128.0.0.1', '[::2]', '::'])
      assert.equal(isLoopbackHost(host), false, host);
  });
  it('names the file, the value and the fix for unknown values', () => {
    fails({ installer: 'apk' }, /installer holds "apk", which is not one of apt, yum, zypper, nop\. Write one of them/);
    fails({ insecure: 'maybe' }, /insecure holds "maybe", which is neither yes nor no/);
    fails({ package: 'teleport; reboot' }, /package holds "teleport; reboot", which is not a package name/);
  });
});
