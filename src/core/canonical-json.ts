// Canonical JSON as the Matrix spec defines it (appendix "Canonical JSON"): object keys sorted
// by Unicode code point, no insignificant whitespace, UTF-8 output with only the mandatory
// escapes, and numbers restricted to integers in [-(2^53)+1, (2^53)-1]. Floats are rejected.
// JSON.stringify is close but sorts nothing and would accept floats, so we walk the value.

export class CanonicalJsonError extends Error {}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function compareCodePoints(a: string, b: string): number {
  // JS string comparison is by UTF-16 code unit, which differs from code point order only for
  // astral characters versus U+E000–U+FFFF; compare code points explicitly when those appear.
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

function needsCodePointSort(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0xd800) return true;
  }
  return false;
}

/** Sorted own keys of `obj` whose value is not undefined (undefined members are left out). */
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  let sorted = true;
  let astral = false;
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && keys[i - 1] > keys[i]) sorted = false;
    if (!astral && needsCodePointSort(keys[i])) astral = true;
  }
  // Objects built in code often have their keys in order already; sorting is then skipped.
  if (astral) keys.sort(compareCodePoints);
  else if (!sorted) keys.sort();
  return keys;
}

function encodeNumber(value: number): string {
  if (!Number.isInteger(value) || value > MAX_SAFE || value < -MAX_SAFE) {
    throw new CanonicalJsonError(`number not allowed in canonical JSON: ${value}`);
  }
  return Object.is(value, -0) ? '0' : String(value);
}

// String concatenation rather than parts joined at the end: V8 builds the result as a rope and
// flattens it once, which allocates less than an array of parts (this runs three times per send).
function encode(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return encodeNumber(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + encode(value[i] === undefined ? null : value[i]);
        return out + ']';
      }
      const obj = value as Record<string, unknown>;
      const keys = sortedKeys(obj);
      let out = '{';
      let first = true;
      for (let i = 0; i < keys.length; i++) {
        const member = obj[keys[i]];
        if (member === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(keys[i]) + ':' + encode(member);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new CanonicalJsonError(`value of type ${typeof value} not allowed in canonical JSON`);
  }
}

export function canonicalJson(value: unknown): string {
  return encode(value);
}

/**
 * True if the value can be encoded (integers in range, no floats) — used to validate content.
 * Walks the value without building the encoding: the send path encodes the content later
 * anyway, inside the event's content hash.
 */
export function isCanonicalJsonValue(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isInteger(value) && value <= MAX_SAFE && value >= -MAX_SAFE;
    case 'object': {
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (value[i] !== undefined && !isCanonicalJsonValue(value[i])) return false;
        return true;
      }
      const obj = value as Record<string, unknown>;
      for (const key in obj) {
        if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
        const member = obj[key];
        if (member !== undefined && !isCanonicalJsonValue(member)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
