// Reads a V8 .cpuprofile (written by node --cpu-prof) and ranks where the time went: by function
// (self time), by source file or package, and the inclusive time of Foyer's own functions, so a
// profile of the send path can be read without opening DevTools.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  /** Set here, for native frames: the module of the nearest JavaScript caller. */
  nativeCaller?: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  topSelf: HotSpot[];
  topModules: HotSpot[];
  /** Inclusive time of functions in src/ (a function recursing into itself is counted once). */
  topFoyerInclusive: HotSpot[];
}

/** "src/services/rooms/persist.ts", "node_modules/kysely", "node:internal/…" or a V8 pseudo-frame. */
function moduleOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) {
    if (frame.functionName.startsWith('(')) return frame.functionName;
    return frame.nativeCaller ? `native via ${frame.nativeCaller}` : '(native)';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  const src = /\/((?:src|bench|test)\/.*)$/.exec(url);
  if (src) return src[1];
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

function nameOf(frame: CallFrame): string {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return frame.nativeCaller ? `${fn} [native, via ${frame.nativeCaller}]` : fn;
  return `${fn} ${moduleOf(frame)}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Native functions (better-sqlite3's Statement/all/run, crypto) have no URL: name them after
  // the module that called them, which is what one wants to know about them.
  const parentOf = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  for (const n of profile.nodes) {
    const f = n.callFrame;
    if (f.url || !f.functionName || f.functionName.startsWith('(')) continue;
    let caller = parentOf.get(n.id);
    while (caller && !caller.callFrame.url) caller = parentOf.get(caller.id);
    if (caller) f.nativeCaller = moduleOf(caller.callFrame);
  }
  // Self time per node from the sample stream: each sample owns the delta to the next one.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const isIdle = (n: ProfileNode) => n.callFrame.functionName === '(idle)';
  let idleUs = 0;
  let busyUs = 0;
  for (const n of profile.nodes) {
    const t = selfUs.get(n.id) ?? 0;
    if (isIdle(n)) idleUs += t;
    else busyUs += t;
  }

  const selfByName = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  for (const n of profile.nodes) {
    if (isIdle(n)) continue;
    const t = selfUs.get(n.id) ?? 0;
    if (!t) continue;
    selfByName.set(nameOf(n.callFrame), (selfByName.get(nameOf(n.callFrame)) ?? 0) + t);
    selfByModule.set(moduleOf(n.callFrame), (selfByModule.get(moduleOf(n.callFrame)) ?? 0) + t);
  }

  // Inclusive time: walk the tree keeping the set of Foyer functions on the current stack.
  const inclusive = new Map<string, number>();
  const subtotal = new Map<number, number>();
  const totalOf = (id: number): number => {
    const cached = subtotal.get(id);
    if (cached !== undefined) return cached;
    const n = byId.get(id)!;
    let t = isIdle(n) ? 0 : selfUs.get(id) ?? 0;
    for (const c of n.children ?? []) t += totalOf(c);
    subtotal.set(id, t);
    return t;
  };
  const root = profile.nodes[0];
  const stack: Array<{ id: number; onStack: Set<string> }> = [{ id: root.id, onStack: new Set() }];
  while (stack.length > 0) {
    const { id, onStack } = stack.pop()!;
    const n = byId.get(id)!;
    let next = onStack;
    if (/^(src)\//.test(moduleOf(n.callFrame))) {
      const name = nameOf(n.callFrame);
      if (!onStack.has(name)) {
        inclusive.set(name, (inclusive.get(name) ?? 0) + totalOf(id));
        next = new Set(onStack).add(name);
      }
    }
    for (const c of n.children ?? []) stack.push({ id: c, onStack: next });
  }

  const rank = (m: Map<string, number>, limit: number): HotSpot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: Math.round((us / busyUs) * 1000) / 10 }));

  return {
    file: path,
    wallMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    topSelf: rank(selfByName, top),
    topModules: rank(selfByModule, top),
    topFoyerInclusive: rank(inclusive, top),
  };
}
