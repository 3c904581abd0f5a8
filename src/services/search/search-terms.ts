// Search terms and pagination tokens for POST /search.
//
// A search term is reduced to word tokens (letters, digits, combining marks), lowercased;
// every token must match the start of a word of the event's text. Keeping only word characters
// means no user input reaches the FTS5 or tsquery parsers as syntax.
import { MatrixError } from '../../core/errors.ts';

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const MAX_TOKENS = 16;
const MAX_TOKEN_LENGTH = 64;

export function searchTokens(term: string): string[] {
  const out: string[] = [];
  for (const m of term.normalize('NFC').toLowerCase().matchAll(WORD)) {
    const t = m[0].slice(0, MAX_TOKEN_LENGTH);
    if (!out.includes(t)) out.push(t);
    if (out.length === MAX_TOKENS) break;
  }
  return out;
}

/**
 * Words to highlight: the words of the matched texts that a token is a prefix of (so "mart"
 * highlights "Martians" as written), then the tokens themselves.
 */
export function highlightsFor(tokens: readonly string[], texts: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const text of texts) {
    for (const m of text.normalize('NFC').matchAll(WORD)) {
      const lower = m[0].toLowerCase();
      if (tokens.some((t) => lower.startsWith(t))) out.add(m[0]);
      if (out.size >= 100) break;
    }
  }
  for (const t of tokens) out.add(t);
  return [...out];
}

export type SearchOrder = 'rank' | 'recent';

export interface GroupScope {
  key: 'room_id' | 'sender';
  value: string;
}

/**
 * Where the next page starts: for `recent`, below a stream position; for `rank`, after that
 * many rows of the ranked result list. A token from inside a group keeps to that group.
 */
export interface SearchCursor {
  order: SearchOrder;
  position: number;
  group?: GroupScope;
}

export function encodeCursor(cursor: SearchCursor): string {
  const json: Record<string, unknown> = { o: cursor.order, p: cursor.position };
  if (cursor.group) json.g = [cursor.group.key, cursor.group.value];
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

export function decodeCursor(token: string): SearchCursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!json || typeof json !== 'object') throw invalid();
  const { o, p, g } = json as { o?: unknown; p?: unknown; g?: unknown };
  if ((o !== 'rank' && o !== 'recent') || !Number.isSafeInteger(p) || (p as number) < 0) throw invalid();
  const cursor: SearchCursor = { order: o, position: p as number };
  if (g !== undefined) {
    if (!Array.isArray(g) || g.length !== 2 || (g[0] !== 'room_id' && g[0] !== 'sender') || typeof g[1] !== 'string') throw invalid();
    cursor.group = { key: g[0], value: g[1] };
  }
  return cursor;
}

function invalid(): MatrixError {
  return new MatrixError('M_INVALID_PARAM', 'Invalid next_batch token');
}
