// The proxy's answers and Debian package versions, against real and hostile input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { aptManager } from '../../src/package-managers/apt.ts';
import { pickVersion } from '../../src/package-managers/types.ts';
import { debToSemver } from '../../src/version/package-version.ts';

const pickDebVersion = (target: string, available: readonly string[]) => pickVersion(aptManager, target, available);
import { parseCriticalBody, parseTargetBody } from '../../src/version/target.ts';
import { parsePingBody, skewViolation } from '../../src/version/cluster.ts';

describe('parseTargetBody', () => {
  it('accepts the forms proxies and S3 channels send', () => {
    assert.deepEqual(parseTargetBody('v17.4.8'), { kind: 'version', version: '17.4.8' });
    assert.deepEqual(parseTargetBody('v13.1.1\n'), { kind: 'version', version: '13.1.1' });
    assert.deepEqual(parseTargetBody(' 1.2.3 '), { kind: 'version', version: '1.2.3' });
    assert.deepEqual(parseTargetBody('v18.0.0-beta.1'), { kind: 'version', version: '18.0.0-beta.1' });
    assert.deepEqual(parseTargetBody('none'), { kind: 'none' });
  });
  it('quotes, escapes and truncates anything else', () => {
    assert.equal(
      parseTargetBody('<html><body>Bad gateway</body></html>'),
      'the proxy\'s /version answer is not a semantic version: "<html><body>Bad gateway</body></html>"',
    );
    assert.match(String(parseTargetBody('1.2.4\n; rm -rf /')), /: "1\.2\.4\\n; rm -rf \/"$/);
    assert.match(String(parseTargetBody('x'.repeat(500))), /"x{80}…"$/);
    for (const bad of ['', 'vv1.2.3', '=1.2.3', '1.2', '01.2.3', '1.2.3-$(id)', 'None', 'v 1.2.3']) {
      assert.equal(typeof parseTargetBody(bad), 'string', bad);
    }
  });
  it('only ever yields versions made of semver characters (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (body) => {
        const parsed = parseTargetBody(body);
        if (typeof parsed !== 'string' && parsed.kind === 'version') assert.match(parsed.version, /^[0-9A-Za-z.+-]+$/);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parsePingBody and the skew rule', () => {
  it('reads server_version from a ping answer, and says why when it cannot', () => {
    assert.deepEqual(parsePingBody('{"auth":{"type":"local"},"server_version":"17.4.8","min_client_version":"16.0.0"}'), {
      kind: 'version',
      version: '17.4.8',
    });
    assert.deepEqual(parsePingBody('{"server_version":"v18.0.0-beta.2"}'), { kind: 'version', version: '18.0.0-beta.2' });
    assert.match((parsePingBody('<html>login</html>') as { problem: string }).problem, /not JSON: "<html>login<\/html>"/);
    assert.match((parsePingBody('{"cluster_name":"x"}') as { problem: string }).problem, /no server_version/);
    assert.match((parsePingBody('{"server_version":"latest"}') as { problem: string }).problem, /not a semantic version: "latest"/);
    assert.match((parsePingBody('{"server_version":17}') as { problem: string }).problem, /no server_version/);
  });
  it('never throws and only returns strict semvers, whatever the body', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json(),
          fc.record({ server_version: fc.string({ maxLength: 30 }) }).map((o) => JSON.stringify(o)),
        ),
        (body) => {
          const cluster = parsePingBody(body);
          if (cluster.kind === 'version') assert.match(cluster.version, /^\d+\.\d+\.\d+/);
        },
      ),
    );
  });
  it('allows the cluster major and the one before; refuses ahead and further behind', () => {
    assert.equal(skewViolation('17.9.9', '17.0.0'), undefined);
    assert.equal(skewViolation('16.0.0', '17.3.0'), undefined);
    assert.equal(skewViolation('18.0.0', '17.9.9'), 'ahead-of-cluster');
    assert.equal(skewViolation('15.4.2', '17.0.0'), 'too-far-behind');
  });
});

describe('parseCriticalBody', () => {
  it('is critical only for yes or true, in any case', () => {
    for (const yes of ['yes', 'YES', 'true', 'True\n']) assert.equal(parseCriticalBody(yes), true, yes);
    for (const no of ['no', 'false', '', 'yes please', '<html>yes</html>']) assert.equal(parseCriticalBody(no), false, no);
  });
});

describe('Debian versions', () => {
  it('maps package versions to semver', () => {
    assert.equal(debToSemver('17.4.8'), '17.4.8');
    assert.equal(debToSemver('1:17.4.8-1'), '17.4.8');
    assert.equal(debToSemver('17.0.0~beta.1'), '17.0.0-beta.1');
    assert.equal(debToSemver('17.0.0-beta.1'), '17.0.0-beta.1');
    assert.equal(debToSemver('17.0.0~rc.1-2'), '17.0.0-rc.1');
    assert.equal(debToSemver('garbage'), undefined);
  });
  it('picks the exact repository version, preferring an exact match', () => {
    assert.equal(pickDebVersion('1.2.5', ['1.2.6', '1.2.5-1', '1.2.4']), '1.2.5-1');
    assert.equal(pickDebVersion('1.2.4', ['1.2.4-1', '1.2.4']), '1.2.4');
    assert.equal(pickDebVersion('1.3.0-beta.1', ['1.3.0~beta.1']), '1.3.0~beta.1');
    assert.equal(pickDebVersion('9.9.9', ['1.2.4']), undefined);
  });
});
