// Application service registration files (spec "Application Service API" → "Registration"), in
// the YAML bridges generate. Parsing is strict and every error names the file and the field, so
// an operator sees "bridge.yaml: namespaces.users[0].regex: invalid regular expression" instead
// of a bridge that silently receives nothing.
import { parse as parseYaml } from 'yaml';
import { isValidUserId } from '../../core/ids.ts';
import { Namespace, namespaceOverlap } from './namespaces.ts';

export interface AppserviceRegistration {
  id: string;
  /** Base URL of the appservice; null: it receives no transactions (spec allows it). */
  url: string | null;
  asToken: string;
  hsToken: string;
  senderLocalpart: string;
  /** @sender_localpart:server_name */
  senderUserId: string;
  users: Namespace[];
  aliases: Namespace[];
  rooms: Namespace[];
  rateLimited: boolean;
  protocols: string[];
  /** receive_ephemeral (spec) or de.sorunome.msc2409.push_ephemeral (MSC2409). */
  receiveEphemeral: boolean;
  /** MSC3202 (device lists, to-device, key counts): stored now, used by the E2EE contributors. */
  msc3202: boolean;
  /** MSC4190: the appservice manages its users' devices itself (PUT/DELETE /devices without UIA). */
  msc4190: boolean;
  /** Where it came from ("config file path" or "database"), for error messages and status. */
  source: string;
}

export class RegistrationError extends Error {}

type Raw = Record<string, unknown>;

function fail(source: string, field: string, message: string): never {
  throw new RegistrationError(`${source}: ${field}: ${message}`);
}

function requireString(raw: Raw, field: string, source: string): string {
  const v = raw[field];
  if (typeof v !== 'string' || v.length === 0) fail(source, field, 'is required and must be a non-empty string');
  return v;
}

function optionalBool(raw: Raw, field: string, source: string): boolean {
  const v = raw[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') fail(source, field, 'must be true or false');
  return v;
}

function parseNamespaces(raw: unknown, kind: 'users' | 'aliases' | 'rooms', source: string): Namespace[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail(source, `namespaces.${kind}`, 'must be a list');
  return raw.map((entry, i) => {
    const field = `namespaces.${kind}[${i}]`;
    if (!entry || typeof entry !== 'object') fail(source, field, 'must be a mapping with regex and exclusive');
    const { regex, exclusive } = entry as Raw;
    if (typeof regex !== 'string' || regex.length === 0) fail(source, `${field}.regex`, 'is required and must be a string');
    if (exclusive !== undefined && typeof exclusive !== 'boolean') fail(source, `${field}.exclusive`, 'must be true or false');
    try {
      return new Namespace(regex, exclusive === true);
    } catch (err) {
      fail(source, `${field}.regex`, `invalid regular expression: ${(err as Error).message}`);
    }
  });
}

/** Parses and validates one registration (YAML text). */
export function parseRegistration(text: string, source: string, serverName: string): AppserviceRegistration {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new RegistrationError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new RegistrationError(`${source}: must be a YAML mapping`);
  const r = raw as Raw;
  const id = requireString(r, 'id', source);
  const asToken = requireString(r, 'as_token', source);
  const hsToken = requireString(r, 'hs_token', source);
  const senderLocalpart = requireString(r, 'sender_localpart', source);
  const senderUserId = `@${senderLocalpart}:${serverName}`;
  if (!isValidUserId(senderUserId)) fail(source, 'sender_localpart', `${senderLocalpart} does not make a valid user ID`);
  if (asToken === hsToken) fail(source, 'hs_token', 'must differ from as_token');
  let url: string | null = null;
  if (r.url !== undefined && r.url !== null) {
    if (typeof r.url !== 'string') fail(source, 'url', 'must be a URL string or null');
    try {
      const parsed = new URL(r.url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(source, 'url', 'must be http:// or https://');
    } catch (err) {
      if (err instanceof RegistrationError) throw err;
      fail(source, 'url', `not a valid URL: ${r.url}`);
    }
    url = r.url.replace(/\/+$/, '');
  } else if (!('url' in r)) {
    fail(source, 'url', 'is required (use null for an appservice that receives no transactions)');
  }
  const ns = r.namespaces;
  if (ns !== undefined && ns !== null && (typeof ns !== 'object' || Array.isArray(ns))) fail(source, 'namespaces', 'must be a mapping');
  const namespaces = (ns ?? {}) as Raw;
  let protocols: string[] = [];
  if (r.protocols !== undefined && r.protocols !== null) {
    if (!Array.isArray(r.protocols) || r.protocols.some((p) => typeof p !== 'string')) fail(source, 'protocols', 'must be a list of strings');
    protocols = r.protocols as string[];
  }
  return {
    id,
    url,
    asToken,
    hsToken,
    senderLocalpart,
    senderUserId,
    users: parseNamespaces(namespaces.users, 'users', source),
    aliases: parseNamespaces(namespaces.aliases, 'aliases', source),
    rooms: parseNamespaces(namespaces.rooms, 'rooms', source),
    // An absent key means rate limited, as in Synapse; bridges set `rate_limited: false`.
    rateLimited: r.rate_limited === undefined || r.rate_limited === null ? true : optionalBool(r, 'rate_limited', source),
    protocols,
    receiveEphemeral: optionalBool(r, 'receive_ephemeral', source) || optionalBool(r, 'de.sorunome.msc2409.push_ephemeral', source),
    msc3202: optionalBool(r, 'org.matrix.msc3202', source),
    msc4190: optionalBool(r, 'io.element.msc4190', source),
    source,
  };
}

/**
 * Checks a set of registrations against each other: unique id, as_token and hs_token, and no
 * two appservices claiming the same names exclusively. Overlap of arbitrary regexes is
 * undecidable in general; `namespaceOverlap` finds identical regexes and literal prefixes one of
 * which covers the other (e.g. `@irc_.*` and `@irc_freenode_.*`).
 */
export function checkRegistrationSet(regs: readonly AppserviceRegistration[]): void {
  const seen = { id: new Map<string, string>(), as_token: new Map<string, string>(), hs_token: new Map<string, string>() };
  for (const reg of regs) {
    for (const [field, value] of [['id', reg.id], ['as_token', reg.asToken], ['hs_token', reg.hsToken]] as const) {
      const other = seen[field].get(value);
      if (other !== undefined) throw new RegistrationError(`${reg.source}: ${field}: the same ${field} is already used by ${other}`);
      seen[field].set(value, reg.source);
    }
  }
  // An as_token equal to another's hs_token would let one side impersonate the other.
  for (const reg of regs) {
    const other = seen.as_token.get(reg.hsToken);
    if (other !== undefined) throw new RegistrationError(`${reg.source}: hs_token: equals the as_token of ${other}`);
  }
  for (let i = 0; i < regs.length; i++) {
    for (let j = i + 1; j < regs.length; j++) {
      for (const kind of ['users', 'aliases', 'rooms'] as const) {
        for (const a of regs[i][kind]) {
          for (const b of regs[j][kind]) {
            if (!a.exclusive || !b.exclusive) continue;
            const why = namespaceOverlap(a, b);
            if (why) {
              throw new RegistrationError(
                `${regs[j].source}: namespaces.${kind}: exclusive regex ${JSON.stringify(b.source)} overlaps ${JSON.stringify(a.source)} of ${regs[i].source} (${why})`,
              );
            }
          }
        }
      }
    }
  }
}
