// URL previews (client-server "Content repository: preview_url"): OpenGraph data of a web page,
// fetched through SafeFetcher (no private, loopback or link-local addresses unless allowed by
// media.url_preview.ip_range_whitelist) and cached in memory for an hour. Off by default:
// previews make the server fetch any URL a user names, which tells those sites the server is
// looking, and a misconfigured network is one redirect away.
//
// The page's og:image is passed through as the page's URL; Synapse downloads it into the media
// repository and rewrites it to an mxc URI, which Foyer does not do (yet).
import { MatrixError } from '../../core/errors.ts';
import { LruCache } from '../../util/lru.ts';
import { BlockedAddressError, type SafeFetcher } from './safe-fetch.ts';

const CACHE_MS = 3_600_000;

export type OpenGraph = Record<string, string | number>;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function attributesOf(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[3] ?? m[4] ?? m[5] ?? '');
  }
  return attrs;
}

/** og:* meta tags, with <title> and the description meta tag as fallbacks. */
export function parseOpenGraph(html: string): OpenGraph {
  const og: OpenGraph = {};
  for (const m of html.matchAll(/<meta\b[^>]*>/gi)) {
    const attrs = attributesOf(m[0]);
    const key = attrs.property ?? attrs.name;
    if (!key || attrs.content === undefined) continue;
    if (key.startsWith('og:') && !(key in og)) og[key] = attrs.content.slice(0, 1000);
    if (key.toLowerCase() === 'description' && !('og:description' in og)) og['og:description'] = attrs.content.slice(0, 1000);
  }
  if (!('og:title' in og)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(html);
    if (title) og['og:title'] = decodeEntities(title[1]).trim().slice(0, 1000);
  }
  return og;
}

export class UrlPreviewer {
  private readonly cache = new LruCache<string, { at: number; og: OpenGraph }>(1000);

  constructor(
    private readonly deps: {
      enabled: boolean;
      fetcher: SafeFetcher;
      now?: () => number;
    },
  ) {}

  async preview(url: string): Promise<OpenGraph> {
    if (!this.deps.enabled) throw new MatrixError('M_UNRECOGNIZED', 'URL previews are disabled on this server');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new MatrixError('M_INVALID_PARAM', 'Not a URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new MatrixError('M_INVALID_PARAM', 'Only http and https URLs can be previewed');
    const now = (this.deps.now ?? Date.now)();
    const cached = this.cache.get(parsed.href);
    if (cached && now - cached.at < CACHE_MS) return cached.og;
    let og: OpenGraph;
    try {
      const page = await this.deps.fetcher.fetch(parsed.href);
      if (page.status < 200 || page.status >= 300) throw new MatrixError('M_UNKNOWN', `The page answered ${page.status}`, {}, 502);
      og = /html/i.test(page.contentType) ? parseOpenGraph(page.body.toString('utf8')) : {};
    } catch (error) {
      if (error instanceof MatrixError) throw error;
      // 403 like Synapse; the message does not say which address a name resolved to.
      if (error instanceof BlockedAddressError) throw new MatrixError('M_FORBIDDEN', 'This URL cannot be previewed', {}, 403);
      throw new MatrixError('M_UNKNOWN', 'Could not fetch the URL', {}, 502);
    }
    this.cache.set(parsed.href, { at: now, og });
    return og;
  }
}
