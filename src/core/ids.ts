// Matrix identifiers (spec appendix "Identifier Grammar").
import { randomBytes } from 'node:crypto';

/** Localparts of new users: the spec's historical-safe set, lowercase only. */
const NEW_LOCALPART = /^[a-z0-9._=\-/+]+$/;
const MAX_ID_LENGTH = 255;

const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?$/;

export function isValidServerName(name: string): boolean {
  return SERVER_NAME.test(name);
}

/** Splits "@local:server" / "!id:server" / "#alias:server"; returns undefined if malformed. */
export function splitId(id: string, sigil: string): { localpart: string; server: string } | undefined {
  if (typeof id !== 'string' || id.length > MAX_ID_LENGTH || id[0] !== sigil) return undefined;
  const colon = id.indexOf(':');
  if (colon < 1) return undefined;
  const server = id.slice(colon + 1);
  if (!isValidServerName(server)) return undefined;
  return { localpart: id.slice(1, colon), server };
}

export function isValidUserId(id: string): boolean {
  const parts = splitId(id, '@');
  // Historical user IDs may contain any printable ASCII except ':'; accept those for reads.
  return !!parts && parts.localpart.length > 0 && /^[\x21-\x39\x3b-\x7e]+$/.test(parts.localpart);
}

export function isValidNewLocalpart(localpart: string, serverName: string): boolean {
  return NEW_LOCALPART.test(localpart) && `@${localpart}:${serverName}`.length <= MAX_ID_LENGTH;
}

export function isValidRoomId(id: string): boolean {
  if (typeof id !== 'string' || id[0] !== '!' || id.length > MAX_ID_LENGTH) return false;
  // v12 room IDs are "!" + hash with no server part.
  if (!id.includes(':')) return /^![A-Za-z0-9_-]{43}$/.test(id);
  return !!splitId(id, '!');
}

export function isValidRoomAlias(alias: string): boolean {
  const parts = splitId(alias, '#');
  return !!parts && parts.localpart.length > 0 && !/[\s:]/.test(parts.localpart);
}

export function isValidEventId(id: string): boolean {
  return typeof id === 'string' && id[0] === '$' && id.length > 1 && id.length <= MAX_ID_LENGTH;
}

export function serverNameOf(id: string): string | undefined {
  const colon = id.indexOf(':');
  return colon < 0 ? undefined : id.slice(colon + 1);
}

export function localpartOf(userId: string): string {
  const colon = userId.indexOf(':');
  return userId.slice(1, colon < 0 ? undefined : colon);
}

/** Random opaque identifier of the given length from [A-Za-z]. */
export function randomString(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}
