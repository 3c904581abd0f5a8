// Turning the `identifier` of /login and of the m.login.password UIA stage (spec "Identifier
// types") into a local user ID. Third-party identifiers are not supported: with no 3PIDs stored,
// the spec's answer for an unknown 3PID is 403.
import { MatrixError } from '../../core/errors.ts';
import { serverNameOf } from '../../core/ids.ts';

/** Reads `identifier` (or the deprecated top-level `user`) and returns the full user ID asked for. */
export function userIdFromIdentifier(auth: Record<string, unknown>, serverName: string): string {
  const identifier = auth.identifier;
  let user: unknown;
  if (identifier !== undefined) {
    if (!identifier || typeof identifier !== 'object' || Array.isArray(identifier)) throw new MatrixError('M_BAD_JSON', 'identifier must be an object');
    const id = identifier as Record<string, unknown>;
    if (id.type === 'm.id.thirdparty' || id.type === 'm.id.phone') {
      throw new MatrixError('M_FORBIDDEN', 'Third-party identifiers are not known to this server');
    }
    if (id.type !== 'm.id.user') throw new MatrixError('M_UNKNOWN', 'Unknown login identifier type');
    user = id.user;
  } else if (auth.user !== undefined) {
    user = auth.user;
  } else if (auth.medium !== undefined || auth.address !== undefined) {
    throw new MatrixError('M_FORBIDDEN', 'Third-party identifiers are not known to this server');
  } else {
    throw new MatrixError('M_MISSING_PARAM', 'Missing identifier');
  }
  if (typeof user !== 'string' || user.length === 0) throw new MatrixError('M_INVALID_PARAM', 'identifier.user must be a non-empty string');
  if (user.startsWith('@')) {
    // Another server's user can never authenticate here; answer like a wrong password.
    if (serverNameOf(user) !== serverName) throw new MatrixError('M_FORBIDDEN', 'Invalid username or password');
    return user;
  }
  return `@${user}:${serverName}`;
}
