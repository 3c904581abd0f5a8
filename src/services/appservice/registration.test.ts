// Registration parsing and the checks between registrations (pure; no I/O).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRegistrationSet, parseRegistration, RegistrationError } from './registration.ts';
import { Namespace, namespaceOverlap } from './namespaces.ts';

const yaml = (id: string, users: string, extra = '') => `
id: ${id}
url: http://localhost:9000
as_token: as_${id}
hs_token: hs_${id}
sender_localpart: ${id}bot
namespaces:
  users:
    - exclusive: true
      regex: '${users}'
${extra}`;

describe('appservice registrations', () => {
  it('parses the fields bridges generate, with Synapse defaults', () => {
    const reg = parseRegistration(yaml('wa', '@whatsapp_.*', 'de.sorunome.msc2409.push_ephemeral: true\norg.matrix.msc3202: true\nio.element.msc4190: true'), 'wa.yaml', 'example.org');
    assert.equal(reg.senderUserId, '@wabot:example.org');
    assert.equal(reg.rateLimited, true);
    assert.equal(reg.receiveEphemeral, true);
    assert.equal(reg.msc3202, true);
    assert.equal(reg.msc4190, true);
    assert.ok(reg.users[0].matches('@whatsapp_123:example.org'));
    assert.ok(!reg.users[0].matches('@alice:example.org'));
  });

  it('names the file and the field of every error', () => {
    assert.throws(() => parseRegistration('id: x\nas_token: a\nhs_token: h\nsender_localpart: b\n', 'x.yaml', 'e.org'), /^Error: x\.yaml: url: is required/);
    assert.throws(() => parseRegistration(yaml('x', '@(oops'), 'x.yaml', 'e.org'), /x\.yaml: namespaces\.users\[0\]\.regex: invalid regular expression/);
    assert.throws(() => parseRegistration(yaml('x', '@a', 'rate_limited: maybe'), 'x.yaml', 'e.org'), /x\.yaml: rate_limited: must be true or false/);
    assert.throws(() => parseRegistration(': :', 'x.yaml', 'e.org'), RegistrationError);
  });

  it('refuses duplicate ids and tokens, and detectable exclusive overlaps', () => {
    const a = parseRegistration(yaml('a', '@irc_.*'), 'a.yaml', 'e.org');
    const sameId = parseRegistration(yaml('a', '@other_.*'), 'b.yaml', 'e.org');
    assert.throws(() => checkRegistrationSet([a, sameId]), /b\.yaml: id: the same id is already used by a\.yaml/);
    const nested = parseRegistration(yaml('b', '@irc_freenode_[a-z]+'), 'b.yaml', 'e.org');
    assert.throws(() => checkRegistrationSet([a, nested]), /b\.yaml: namespaces\.users: exclusive regex .* overlaps/);
    const disjoint = parseRegistration(yaml('c', '@telegram_.*'), 'c.yaml', 'e.org');
    checkRegistrationSet([a, disjoint]);
  });

  it('matches as Python re.match does (anchored at the start only) and finds literal-prefix overlaps', () => {
    assert.ok(new Namespace('@irc_', false).matches('@irc_bob:e.org'));
    assert.ok(!new Namespace('@irc_', false).matches('@bob_irc_:e.org'));
    assert.equal(namespaceOverlap(new Namespace('@a_.*', true), new Namespace('@a_.*', true)), 'identical regex');
    assert.ok(namespaceOverlap(new Namespace('@a_.*', true), new Namespace('@a_b\\.c.*', true)));
    assert.equal(namespaceOverlap(new Namespace('@a_.*', true), new Namespace('@b_.*', true)), null);
    // Not provable from prefixes: left alone (overlap of regexes is undecidable in general).
    assert.equal(namespaceOverlap(new Namespace('@[ab]_.*', true), new Namespace('@a_.*x', true)), null);
  });
});
