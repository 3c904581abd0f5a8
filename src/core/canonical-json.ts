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

function writeValue(value: unknown, out: string[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isInteger(value) || value > MAX_SAFE || value < -MAX_SAFE) {
        throw new CanonicalJsonError(`number not allowed in canonical JSON: ${value}`);
      }
      out.push(Object.is(value, -0) ? '0' : String(value));
      return;
    case 'object': {
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          writeValue(value[i] === undefined ? null : value[i], out);
        }
        out.push(']');
        return;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
      if (keys.some(needsCodePointSort)) keys.sort(compareCodePoints);
      else keys.sort();
      out.push('{');
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) out.push(',');
        out.push(JSON.stringify(keys[i]), ':');
        writeValue(obj[keys[i]], out);
      }
      out.push('}');
      return;
    }
    default:
      throw new CanonicalJsonError(`value of type ${typeof value} not allowed in canonical JSON`);
  }
}

export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  writeValue(value, out);
  return out.join('');
}

/** True if the value can be encoded (integers in range, no floats) — used to validate content. */
export function isCanonicalJsonValue(value: unknown): boolean {
  try {
    canonicalJson(value);
    return true;
  } catch {
    return false;
  }
}
