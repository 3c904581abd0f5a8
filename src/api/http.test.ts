import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasNulCharacter, nestsDeeperThan } from './http.ts';

describe('request body checks', () => {
  it('finds U+0000 escaped in a JSON string, and not an escaped backslash before "u0000"', () => {
    assert.equal(hasNulCharacter(JSON.stringify({ body: 'a\u0000b' })), true);
    assert.equal(hasNulCharacter(JSON.stringify({ ['k\u0000']: 1 })), true);
    assert.equal(hasNulCharacter(JSON.stringify({ body: '\\u0000' })), false);
    assert.equal(hasNulCharacter(JSON.stringify({ body: '\\\u0000' })), true);
    assert.equal(hasNulCharacter(JSON.stringify({ body: 'u0000 \u0001' })), false);
  });

  it('measures nesting by brackets outside strings', () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    assert.equal(nestsDeeperThan(nested(100), 100), false);
    assert.equal(nestsDeeperThan(nested(101), 100), true);
    assert.equal(nestsDeeperThan(nested(5), 3), true);
    // Brackets and escaped quotes inside strings do not count.
    assert.equal(nestsDeeperThan(JSON.stringify({ a: '[[[[[[\\"{{{{{{' }), 3), false);
    assert.equal(nestsDeeperThan(JSON.stringify([{ a: ['"]]]]'] }]), 3), false);
    assert.equal(nestsDeeperThan(JSON.stringify([{ a: [[']]]]']] }]), 3), true);
  });
});
