// Fetching URLs on a user's behalf (URL previews) without letting them reach inside the
// network: every address a host name resolves to is checked *after* DNS resolution, in the
// connection's own lookup (so a name cannot resolve to a public address when checked and a
// private one when connected), and IP literals are checked before connecting. Redirects are
// followed by hand, each hop checked the same way.
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { Agent } from 'undici';

/** Loopback, private, link-local, CGNAT, multicast, documentation and other special ranges. */
const BUILT_IN_DENIED: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

export class BlockedAddressError extends Error {}

function toBlockList(ranges: string[], base: Array<[string, number, 'ipv4' | 'ipv6']> = []): BlockList {
  const list = new BlockList();
  for (const [net, prefix, family] of base) list.addSubnet(net, prefix, family);
  for (const range of ranges) {
    const [net, prefixText] = range.split('/');
    const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(net) === 0) throw new Error(`invalid IP range: ${range}`);
    const prefix = prefixText === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefixText);
    list.addSubnet(net, prefix, family);
  }
  return list;
}

export class AddressPolicy {
  private readonly denied: BlockList;
  private readonly allowed: BlockList;

  constructor(opts: { allow: string[]; deny: string[] }) {
    this.denied = toBlockList(opts.deny, BUILT_IN_DENIED);
    this.allowed = toBlockList(opts.allow);
  }

  isAllowed(address: string): boolean {
    let family: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    let ip = address;
    // ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) {
      ip = mapped[1];
      family = 'ipv4';
    }
    if (this.allowed.check(ip, family)) return true;
    return !this.denied.check(ip, family);
  }
}

export interface FetchedPage {
  url: string;
  status: number;
  contentType: string;
  body: Buffer;
}

export class SafeFetcher {
  // undici is loaded on first use: previews are off by default, and parsing undici at start-up
  // costs an idle server several MB of RSS.
  private client: Promise<{ agent: Agent; request: typeof import('undici').request }> | undefined;

  constructor(
    private readonly policy: AddressPolicy,
    private readonly limits: { maxBytes: number; timeoutMs: number },
  ) {}

  private undici(): Promise<{ agent: Agent; request: typeof import('undici').request }> {
    this.client ??= import('undici').then(({ Agent, request }) => {
      const policy = this.policy;
      const agent = new Agent({
        connect: {
          lookup: (hostname, options, callback) => {
            dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
              if (err) return callback(err, '', 4);
              const usable = addresses.filter((a) => policy.isAllowed(a.address));
              if (usable.length === 0) return callback(new BlockedAddressError(`${hostname} resolves only to blocked addresses`), '', 4);
              if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
              callback(null, usable[0].address, usable[0].family);
            });
          },
        },
        headersTimeout: this.limits.timeoutMs,
        bodyTimeout: this.limits.timeoutMs,
      });
      return { agent, request };
    });
    return this.client;
  }

  /** GETs `url`, following up to five redirects; reads at most maxBytes of the body. */
  async fetch(url: string): Promise<FetchedPage> {
    const { agent, request } = await this.undici();
    const signal = AbortSignal.timeout(this.limits.timeoutMs);
    let current = new URL(url);
    for (let hop = 0; hop <= 5; hop++) {
      if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new BlockedAddressError('Only http and https URLs can be previewed');
      const host = current.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0 && !this.policy.isAllowed(host)) throw new BlockedAddressError(`${host} is a blocked address`);
      const res = await request(current, {
        method: 'GET',
        dispatcher: agent,
        signal,
        headers: { 'user-agent': 'Foyer (Matrix homeserver) URL preview', accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5' },
      });
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof res.headers.location === 'string') {
        await res.body.dump();
        current = new URL(res.headers.location, current);
        continue;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        const room = this.limits.maxBytes - size;
        chunks.push(buf.length > room ? buf.subarray(0, room) : buf);
        size += Math.min(buf.length, room);
        // Enough for the <head> of any page: stop reading rather than fail.
        if (size >= this.limits.maxBytes) break;
      }
      if (size >= this.limits.maxBytes) res.body.destroy();
      const type = res.headers['content-type'];
      return { url: current.href, status: res.statusCode, contentType: Array.isArray(type) ? type[0] : (type ?? ''), body: Buffer.concat(chunks) };
    }
    throw new BlockedAddressError('Too many redirects');
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).agent.close();
  }
}
