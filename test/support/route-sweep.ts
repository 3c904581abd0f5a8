// Shared by the route sweeps (bad-input-sweep, authorization-sweep): the server's own route
// table, and request bodies grown from {} by the validator's answers until a handler answers.
import type { TestServer } from '../harness.ts';

export interface Route {
  method: string;
  path: string;
}

/** The server's routes, from Fastify's printed route tree (one line per node, children indented). */
export function routesOf(server: TestServer): Route[] {
  const tree = server.app.http.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes: Route[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    prefixes.length = depth;
    const path = (depth > 0 ? prefixes[depth - 1] : '') + m[2];
    prefixes[depth] = path;
    for (const method of m[3]?.split(', ') ?? []) if (method !== 'HEAD') routes.push({ method, path });
  }
  return routes;
}

/** The things path parameters point at in a sweep: a user's ID and device, a room and so on. */
export interface SweepTargets {
  userId: string;
  deviceId: string;
  roomId: string;
  eventId: string;
  alias: string;
  filterId?: string;
  mediaId?: string;
}

/** A well-formed value for the path parameter `name`, aimed at `t`; `unique` makes transaction IDs fresh. */
export function pathValue(name: string, t: SweepTargets, unique: string): string {
  switch (name) {
    case 'roomId':
    case 'roomIdOrAlias':
      return t.roomId;
    case 'eventId':
      return t.eventId;
    case 'userId':
      return t.userId;
    case 'deviceId':
      return t.deviceId;
    case 'roomAlias':
      return t.alias;
    case 'filterId':
      return t.filterId ?? '0';
    case 'mediaId':
      return t.mediaId ?? 'sweep';
    case 'serverName':
      return 'test.local';
    case 'eventType':
      return 'm.room.message';
    case 'txnId':
      return unique;
    case 'stateKey':
      return '';
    case 'receiptType':
      return 'm.read';
    case 'keyName':
      return 'displayname';
    case 'kind':
      return 'override';
    case 'ruleId':
      return '.m.rule.master';
    case 'relType':
      return 'm.thread';
    case 'version':
      return '1';
    default:
      return 'sweep';
  }
}

/** An edge value of the type a validation message names ("must be string"), else null. */
function edgeValueFor(message: string): unknown {
  const type = /must be (string|integer|number|boolean|object|array|null)\b/.exec(message)?.[1];
  switch (type) {
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return -1;
    case 'boolean':
      return false;
    case 'object':
      return {};
    case 'array':
      return [];
    case 'null':
      return null;
  }
  const min = /must be >= (-?\d+)/.exec(message)?.[1] ?? /must NOT have fewer than (\d+) (?:characters|items|properties)/.exec(message)?.[1];
  if (min !== undefined) return message.includes('characters') ? 'x'.repeat(Number(min)) : Number(min);
  return null;
}

/** Sets `value` at a dotted path, making objects (or arrays, for numeric parts) on the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.').filter(Boolean);
  let node: any = target;
  for (let i = 0; i < parts.length - 1; i++) {
    if (node[parts[i]] === null || typeof node[parts[i]] !== 'object') node[parts[i]] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    node = node[parts[i]];
  }
  node[parts[parts.length - 1]] = value;
}

/** Reads a dotted path, or undefined. */
function getPath(target: Record<string, unknown>, path: string): unknown {
  let node: any = target;
  for (const part of path.split('.').filter(Boolean)) node = node === null || typeof node !== 'object' ? undefined : node[part];
  return node;
}

/**
 * Grows a probe body by the validator's answer: a missing field gets an empty string, a field of
 * the wrong type an edge value of the type asked for. A field named in `known` (by its last path
 * part) gets that value instead, once: a well-formed value that takes the request past the
 * validator to the handler's own checks. False when the answer asks nothing it can give (the
 * handler answered, or the validator wants a value from a list it was not told).
 */
export function nextProbe(probe: Record<string, unknown>, error: string, known: Record<string, unknown> = {}): boolean {
  const field = /^Missing field: (\S+)/.exec(error)?.[1] ?? /^Invalid field (\S+): /.exec(error)?.[1];
  if (!field || field === '(root)') return false;
  const name = field.split('.').pop()!;
  if (name in known && JSON.stringify(getPath(probe, field)) !== JSON.stringify(known[name])) {
    setPath(probe, field, known[name]);
    return true;
  }
  if (error.startsWith('Missing field: ')) {
    setPath(probe, field, '');
    return true;
  }
  const value = edgeValueFor(error.slice(error.indexOf(': ') + 2));
  if (value === null) return false;
  const before = JSON.stringify(probe);
  setPath(probe, field, value);
  return JSON.stringify(probe) !== before;
}
