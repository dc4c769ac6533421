// Untrusted text (headers, bodies, tool output) in log lines: always escaped and truncated, never raw control characters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quote, sanitize } from '../../src/core/text.ts';
import { renderText } from '../../src/log/render.ts';

/** Anything a terminal or the journal would act on rather than show. */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('untrusted text in log lines', () => {
  it('escapes C0 and C1 controls, DEL and bidirectional overrides, and truncates', () => {
    assert.equal(sanitize('a\u0085b\u001b[31mc\u007f\u202ed'), 'a\\x85b\\x1b[31mc\\x7f\\u202ed');
    assert.equal(sanitize('x'.repeat(600)), `${'x'.repeat(500)}…`);
    assert.equal(quote('say "hi"\n\\', 80), '"say \\"hi\\"\\n\\\\"');
    assert.equal(quote(`https://evil.example/${'a'.repeat(6000)}\u0085`, 200).length, 203);
  });
  it('a rendered line never holds a raw control character or a line break, whatever the message (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom(20, 30, 40, 50), (message, level) => {
        const line = renderText(level, `header: ${message}`);
        assert.doesNotMatch(line, RAW_CONTROL);
        assert.ok(!line.includes('\n'));
      }),
    );
  });
  it('quote keeps the text recognisable and bounded (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const quoted = quote(text, 80);
        assert.doesNotMatch(quoted, RAW_CONTROL);
        assert.ok(quoted.startsWith('"') && quoted.endsWith('"'));
        assert.ok(quoted.length <= 2 + 81 * 6);
      }),
    );
  });
});
