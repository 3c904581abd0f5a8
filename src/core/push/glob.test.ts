import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob, globMatchesWhole, globMatchesWords, lookupPath, parseKeyPath } from './glob.ts';

const whole = (pattern: string, value: string): boolean => globMatchesWhole(compileGlob(pattern), value.toLowerCase());
const words = (pattern: string, value: string): boolean => globMatchesWords(compileGlob(pattern), value.toLowerCase());

describe('glob: whole-value matching (event_match)', () => {
  it('follows the spec example lunc?* case-insensitively', () => {
    assert.equal(whole('lunc?*', 'Lunch plans'), true);
    assert.equal(whole('lunc?*', 'LUNCH'), true);
    assert.equal(whole('lunc?*', ' lunch'), false, 'leading space');
    assert.equal(whole('lunc?*', 'lunc'), false, '? must match a character');
  });

  it('treats a pattern without wildcards as an exact (case-insensitive) match', () => {
    assert.equal(whole('m.room.message', 'm.room.message'), true);
    assert.equal(whole('m.room.message', 'M.Room.Message'), true);
    assert.equal(whole('m.room.message', 'm.room.messages'), false);
    assert.equal(whole('m.room.message', 'xm.room.message'), false);
  });

  it('matches the empty pattern only against the empty string', () => {
    assert.equal(whole('', ''), true);
    assert.equal(whole('', 'a'), false);
  });

  it('lets * match zero or more characters anywhere', () => {
    assert.equal(whole('*', ''), true);
    assert.equal(whole('*', 'anything at all'), true);
    assert.equal(whole('a*', 'a'), true);
    assert.equal(whole('*a', 'ba'), true);
    assert.equal(whole('*a', 'ab'), false);
    assert.equal(whole('a*b*c', 'abc'), true);
    assert.equal(whole('a*b*c', 'aXXbYYc'), true);
    assert.equal(whole('a*b*c', 'aXXcYYb'), false);
    assert.equal(whole('a**b', 'ab'), true);
    assert.equal(whole('ab*ab', 'ab'), false, 'first and last segments may not overlap');
    assert.equal(whole('ab*ab', 'abab'), true);
  });

  it('treats regex metacharacters literally', () => {
    assert.equal(whole('a.c', 'abc'), false);
    assert.equal(whole('a.c', 'a.c'), true);
    assert.equal(whole('[ab]', 'a'), false);
    assert.equal(whole('(x)+', '(x)+'), true);
    assert.equal(whole('^$', '^$'), true);
  });

  it('lets ? match one code point, including astral characters', () => {
    assert.equal(whole('a?c', 'a😀c'), true);
    assert.equal(whole('a??c', 'a😀c'), false);
    assert.equal(whole('*?', '😀'), true);
    assert.equal(whole('??', '😀'), false);
  });

  it('matches newlines with * and ?', () => {
    assert.equal(whole('a*b', 'a\n\nb'), true);
    assert.equal(whole('a?b', 'a\nb'), true);
  });

  it('stays fast on patterns that make backtracking regexes explode', () => {
    const value = 'a'.repeat(60_000);
    const start = process.hrtime.bigint();
    assert.equal(whole('*a*a*a*a*a*a*a*a*a*a*a*a*b', value), false);
    assert.equal(words('a*a*a*a*a*a*b', value), false);
    assert.equal(words('a*b', value), false);
    assert.equal(words('?*?*b', value), false);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 500, `took ${ms} ms`);
  });
});

describe('glob: word-boundary matching (content.body)', () => {
  it('follows the spec example ex*ple', () => {
    assert.equal(words('ex*ple', 'An example event.'), true);
    assert.equal(words('ex*ple', 'exple'), true);
    assert.equal(words('ex*ple', 'An exciting triple-whammy'), true);
  });

  it('requires word boundaries on both sides', () => {
    assert.equal(words('cake', 'I like cake'), true);
    assert.equal(words('cake', 'cakes are nice'), false);
    assert.equal(words('cake', 'pancake'), false);
    assert.equal(words('cake', 'cake_shop'), false, '_ is a word character');
    assert.equal(words('cake', 'cake-shop'), true, '- is a boundary');
    assert.equal(words('cake', 'CAKE!'), true);
    assert.equal(words('cake', 'pancake and cake'), true, 'a later occurrence can match');
    assert.equal(words('cake', 'cake1'), false, 'digits are word characters');
    assert.equal(words('cake', 'kuchen/cake'), true);
    assert.equal(words('alice', 'héllo alice'), true);
  });

  it('handles patterns that start or end with non-word characters', () => {
    assert.equal(words('@room', 'hey @room look'), true);
    assert.equal(words('@room', '@room'), true);
    assert.equal(words('@room', 'x@room'), false);
    assert.equal(words('@room', '@roomy'), false);
  });

  it('supports * and ? within word matches', () => {
    assert.equal(words('ca?e', 'the cafe is open'), true);
    assert.equal(words('ca?e', 'the caffe is open'), false);
    assert.equal(words('cake*lie', 'the cake is a lie'), true);
    assert.equal(words('cake*lie', 'the cake is a lier'), false);
    assert.equal(words('cake*lie', 'the cake is a lier, a lie'), true);
    assert.equal(words('*', 'anything'), true);
    assert.equal(words('c*', 'abc def'), false, 'must start at a word boundary');
    assert.equal(words('c*', 'abc cdef'), true);
    assert.equal(words('*c', 'abc def'), true);
    assert.equal(words('*c', 'abcd'), false);
  });
});

describe('glob: agrees with a reference regex on random inputs', () => {
  // Small alphabets make collisions (and so tricky partial matches) frequent.
  function reference(pattern: string, wordMode: boolean): RegExp {
    const body = Array.from(pattern)
      .map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')))
      .join('');
    return wordMode ? new RegExp(`(?<![A-Za-z0-9_])${body}(?![A-Za-z0-9_])`, 'u') : new RegExp(`^${body}$`, 'u');
  }
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = (alphabet: string[], max: number): string => {
    let s = '';
    const len = rand(max + 1);
    for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
    return s;
  };

  it('for whole-value and word-boundary matching', () => {
    const valueChars = ['a', 'b', ' ', '-', '_', '😀'];
    const patternChars = ['a', 'b', ' ', '-', '*', '?', '*'];
    for (let i = 0; i < 20_000; i++) {
      const pattern = pick(patternChars, 6);
      const value = pick(valueChars, 10);
      assert.equal(whole(pattern, value), reference(pattern, false).test(value), `whole ${JSON.stringify(pattern)} ~ ${JSON.stringify(value)}`);
      assert.equal(words(pattern, value), reference(pattern, true).test(value), `words ${JSON.stringify(pattern)} ~ ${JSON.stringify(value)}`);
    }
  });
});

describe('dot-separated property paths', () => {
  it('splits on dots and honours \\. and \\\\ escapes', () => {
    assert.deepEqual(parseKeyPath('content.body'), ['content', 'body']);
    assert.deepEqual(parseKeyPath('content.m\\.relates_to.rel_type'), ['content', 'm.relates_to', 'rel_type']);
    assert.deepEqual(parseKeyPath('content.m\\\\foo'), ['content', 'm\\foo']);
    assert.deepEqual(parseKeyPath('content.m\\x'), ['content', 'm\\x'], 'other escapes stay literal');
    assert.deepEqual(parseKeyPath('type'), ['type']);
  });

  it('looks up own properties of objects only', () => {
    const event = { content: { 'm.relates_to': { rel_type: 'm.replace' }, list: [1] } };
    assert.equal(lookupPath(event, ['content', 'm.relates_to', 'rel_type']), 'm.replace');
    assert.equal(lookupPath(event, ['content', 'm', 'relates_to']), undefined);
    assert.equal(lookupPath(event, ['content', 'list', '0']), undefined, 'arrays are not traversed');
    assert.equal(lookupPath(event, ['content', 'constructor']), undefined);
    assert.equal(lookupPath(event, ['content', 'missing', 'x']), undefined);
  });
});
