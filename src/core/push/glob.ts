// Glob matching for push rules (appendix "Glob-style matching": `*` matches any run of
// characters, `?` exactly one) and dot-separated property paths (appendix, with `\.` and `\\`
// escapes).
//
// Why not RegExp: patterns come from users and values can be 64 KiB message bodies. A
// backtracking regex for `a*a*a*b`, or an unanchored word-boundary search for `a*b` over
// "aaaa…", costs O(n^k) or O(n²) — one message could pin a CPU while every member's rules run.
// A glob is a list of literal segments separated by stars, and matching segments left to right
// at their leftmost position is exact for globs, so a match costs O(n·m) at worst and is usually
// a few `indexOf` calls. Compiled globs are cached: the same patterns (default rules, common
// keywords) recur across all users.
//
// Case-insensitivity (spec: "defined by the implementation") means: both sides are compared
// after `toLowerCase()`. Callers pass values already lowercased, once per event.
import { LruCache } from '../../util/lru.ts';

interface Segment {
  /** Lowercased segment text. */
  text: string;
  /** Split into code points, when it contains `?` (each `?` matches one code point). */
  chars: string[] | null;
  /** The literal text before the first `?`, used to skip ahead with indexOf. */
  prefix: string;
}

export interface Glob {
  /** Segments between stars; `[text]` when there is no star. Middle empty segments dropped. */
  readonly segments: readonly Segment[];
  /** Whether the pattern contains at least one `*`. */
  readonly hasStar: boolean;
}

function segment(text: string, wildcards: boolean): Segment {
  const q = wildcards ? text.indexOf('?') : -1;
  return { text, chars: q >= 0 ? Array.from(text) : null, prefix: q >= 0 ? text.slice(0, q) : text };
}

/** Compiles a glob pattern (or, with `literal`, a plain string such as a display name). */
export function compileGlob(pattern: string, literal = false): Glob {
  // Two caches keyed by the pattern itself: a display name is looked up for every member on
  // every message, and the same string object hashes once (a prefixed key would be a new
  // string, hashed anew, each time).
  const cache = literal ? literalCache : globCache;
  const cached = cache.get(pattern);
  if (cached) return cached;
  const lower = pattern.toLowerCase();
  let glob: Glob;
  if (literal || !lower.includes('*')) {
    glob = { segments: [segment(lower, !literal)], hasStar: false };
  } else {
    const parts = lower.split('*');
    const middle = parts.slice(1, -1).filter((p) => p.length > 0);
    glob = { segments: [parts[0], ...middle, parts[parts.length - 1]].map((p) => segment(p, true)), hasStar: true };
  }
  cache.set(pattern, glob);
  return glob;
}

const globCache = new LruCache<string, Glob>(10_000);
const literalCache = new LruCache<string, Glob>(10_000);

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** End index if `seg` matches `value` starting at `pos`, else -1. */
function matchAt(value: string, pos: number, seg: Segment): number {
  if (!seg.chars) return value.startsWith(seg.text, pos) ? pos + seg.text.length : -1;
  let p = pos;
  for (const c of seg.chars) {
    if (c === '?') {
      if (p >= value.length) return -1;
      p += isHigh(value.charCodeAt(p)) && isLow(value.charCodeAt(p + 1)) ? 2 : 1;
    } else {
      if (!value.startsWith(c, p)) return -1;
      p += c.length;
    }
  }
  return p;
}

/** Leftmost start ≥ `from` where `seg` matches, or -1. */
function findFrom(value: string, from: number, seg: Segment): number {
  if (from > value.length) return -1; // indexOf('', n + 1) would answer n again
  if (!seg.chars) return value.indexOf(seg.text, from);
  for (let p = from; p <= value.length; p++) {
    if (seg.prefix) {
      p = value.indexOf(seg.prefix, p);
      if (p < 0) return -1;
    } else if (p > 0 && isLow(value.charCodeAt(p)) && isHigh(value.charCodeAt(p - 1))) {
      continue; // never start a match inside a surrogate pair
    }
    if (matchAt(value, p, seg) >= 0) return p;
  }
  return -1;
}

/** Whether the lowercased `value` matches the whole glob. */
export function globMatchesWhole(glob: Glob, value: string): boolean {
  const segs = glob.segments;
  if (!glob.hasStar) return matchAt(value, 0, segs[0]) === value.length;
  let end = matchAt(value, 0, segs[0]);
  if (end < 0) return false;
  for (let i = 1; i < segs.length - 1; i++) {
    const start = findFrom(value, end, segs[i]);
    if (start < 0) return false;
    end = matchAt(value, start, segs[i]);
  }
  // The last segment is pinned to the end of the value; step back over it code point by code
  // point to find where it has to start.
  const last = segs[segs.length - 1];
  let start = value.length;
  const count = last.chars ? last.chars.length : -1;
  if (count < 0) start -= last.text.length;
  else {
    for (let n = 0; n < count && start > 0; n++) {
      start -= start >= 2 && isLow(value.charCodeAt(start - 1)) && isHigh(value.charCodeAt(start - 2)) ? 2 : 1;
    }
  }
  return start >= end && matchAt(value, start, last) === value.length;
}

// Word characters per the spec: [A-Z], [a-z], [0-9] and `_`; everything else is a boundary.
function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95;
}
function boundaryBefore(value: string, i: number): boolean {
  return i === 0 || !isWordChar(value.charCodeAt(i - 1));
}
function boundaryAfter(value: string, j: number): boolean {
  return j === value.length || !isWordChar(value.charCodeAt(j));
}

/**
 * Whether the glob matches some substring of the lowercased `value` that starts and ends at a
 * word boundary (the special case for `content.body`). The leftmost valid start gives the
 * earliest end of the middle segments, and an earlier end only widens where the last segment
 * may go, so one left-to-right pass decides.
 */
export function globMatchesWords(glob: Glob, value: string): boolean {
  const segs = glob.segments;
  const first = segs[0];
  let start = findFrom(value, 0, first);
  while (start >= 0) {
    if (boundaryBefore(value, start)) {
      const end = matchAt(value, start, first);
      if (!glob.hasStar) {
        if (boundaryAfter(value, end)) return true;
      } else {
        return restMatchesWords(segs, value, end);
      }
    }
    start = findFrom(value, start + 1, first);
  }
  return false;
}

function restMatchesWords(segs: readonly Segment[], value: string, from: number): boolean {
  let end = from;
  for (let i = 1; i < segs.length - 1; i++) {
    const start = findFrom(value, end, segs[i]);
    if (start < 0) return false;
    end = matchAt(value, start, segs[i]);
  }
  const last = segs[segs.length - 1];
  let start = findFrom(value, end, last);
  while (start >= 0) {
    if (boundaryAfter(value, matchAt(value, start, last))) return true;
    start = findFrom(value, start + 1, last);
  }
  return false;
}

/**
 * Splits a dot-separated property path: `content.m\.relates_to` → ["content", "m.relates_to"].
 * `\.` and `\\` are escapes; any other backslash is kept literally (appendix).
 */
export function parseKeyPath(key: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\')) {
      current += key[i + 1];
      i++;
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** The value at a parsed path, or undefined when any step is missing or not an object. */
export function lookupPath(root: unknown, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
