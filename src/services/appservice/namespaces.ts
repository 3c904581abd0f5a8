// Namespaces of application services. A regex matches a user ID, alias or room ID the way
// Synapse matches it (Python's re.match): anchored at the start, not at the end — registrations
// in the wild are written for that, e.g. `@irc_.*` or `@_discord_[0-9]+` without `$`.

const META = new Set(['.', '^', '$', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '\\']);
const QUANTIFIERS = new Set(['*', '+', '?', '{']);

export class Namespace {
  private readonly regex: RegExp;
  /** The literal text every match starts with ('' when the regex starts with a meta character). */
  readonly literalPrefix: string;
  /** What the regex is after its literal prefix, when that is simple ('', '.*', '.+'), else null. */
  private readonly tail: string | null;

  constructor(
    readonly source: string,
    readonly exclusive: boolean,
  ) {
    this.regex = new RegExp(`^(?:${source})`);
    [this.literalPrefix, this.tail] = splitLiteralPrefix(source);
  }

  matches(value: string): boolean {
    return this.regex.test(value);
  }

  /** True if every string starting with `prefix` is certainly matched (start-anchored matching). */
  coversPrefix(prefix: string): boolean {
    if (this.tail === null || !prefix.startsWith(this.literalPrefix)) return false;
    if (this.tail === '' || this.tail === '.*') return true;
    return prefix.length > this.literalPrefix.length; // '.+' needs one more character
  }
}

function splitLiteralPrefix(source: string): [string, string | null] {
  let i = source.startsWith('^') ? 1 : 0;
  let literal = '';
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1];
      // Escaped punctuation is literal; \d, \w… are classes and end the prefix.
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      if (QUANTIFIERS.has(source[i + 2] ?? '')) break;
      literal += next;
      i += 2;
      continue;
    }
    if (META.has(c)) break;
    // A quantified character is not part of every match.
    if (QUANTIFIERS.has(source[i + 1] ?? '')) break;
    literal += c;
    i++;
  }
  const rest = source.slice(i);
  const tail = rest === '' || rest === '.*' || rest === '.+' ? rest : null;
  return [literal, tail];
}

/** Why two namespaces certainly overlap, or null when no overlap was detected. */
export function namespaceOverlap(a: Namespace, b: Namespace): string | null {
  if (a.source === b.source) return 'identical regex';
  if (a.coversPrefix(b.literalPrefix)) return `every match of the second starts with "${b.literalPrefix}", which the first matches`;
  if (b.coversPrefix(a.literalPrefix)) return `every match of the first starts with "${a.literalPrefix}", which the second matches`;
  return null;
}

export function matchesAny(namespaces: readonly Namespace[], value: string): boolean {
  return namespaces.some((n) => n.matches(value));
}

export function matchesExclusive(namespaces: readonly Namespace[], value: string): boolean {
  return namespaces.some((n) => n.exclusive && n.matches(value));
}
