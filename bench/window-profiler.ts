// CPU profiling of one window of a server's life (runs inside bench/server-process.ts), through
// the same V8 sampling profiler `node --cpu-prof` uses, but started and stopped on request so
// the profile holds only the phase being studied (not start-up, module loading, registration).
//
// tsx compiles each .ts file to one whitespace-minified line, so raw positions all read
// "file.ts:1". Before writing, call frames are mapped back to .ts lines and columns through the
// inline source maps tsx attaches, found via the debugger's scriptParsed events.
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { writeFileSync } from 'node:fs';

interface ProfileNode {
  callFrame: { scriptId: string; url: string; lineNumber: number; columnNumber: number; functionName: string };
  positionTicks?: unknown[];
}

export class WindowProfiler {
  private readonly session = new Session();
  private running = false;

  constructor() {
    this.session.connect();
  }

  async start(samplingIntervalUs = 500): Promise<void> {
    if (this.running) throw new Error('profiler already running');
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await this.session.post('Profiler.start');
    this.running = true;
  }

  /** Stops, maps frames to TypeScript positions, writes a .cpuprofile (DevTools-loadable) to `path`. */
  async stop(path: string): Promise<void> {
    if (!this.running) throw new Error('profiler not running');
    this.running = false;
    const { profile } = await this.session.post('Profiler.stop');
    await this.session.post('Profiler.disable');
    await this.mapToSources(profile.nodes as unknown as ProfileNode[]);
    writeFileSync(path, JSON.stringify(profile));
  }

  private async mapToSources(nodes: ProfileNode[]): Promise<void> {
    const mapUrls = new Map<string, string>();
    const onScript = (m: { params: { scriptId: string; sourceMapURL?: string } }) => {
      if (m.params.sourceMapURL?.startsWith('data:')) mapUrls.set(m.params.scriptId, m.params.sourceMapURL);
    };
    this.session.on('Debugger.scriptParsed', onScript);
    // Enabling the debugger replays scriptParsed for every loaded script; it is switched off
    // again at once so it costs nothing while the server keeps running.
    await this.session.post('Debugger.enable');
    await this.session.post('Debugger.disable');
    this.session.off('Debugger.scriptParsed', onScript);

    const maps = new Map<string, SourceMap | null>();
    const mapOf = (scriptId: string): SourceMap | null => {
      if (!maps.has(scriptId)) {
        const url = mapUrls.get(scriptId);
        let map: SourceMap | null = null;
        if (url) {
          try {
            const comma = url.indexOf(',');
            const payload = url.slice(0, comma).endsWith(';base64')
              ? Buffer.from(url.slice(comma + 1), 'base64').toString('utf8')
              : decodeURIComponent(url.slice(comma + 1));
            map = new SourceMap(JSON.parse(payload));
          } catch {
            map = null;
          }
        }
        maps.set(scriptId, map);
      }
      return maps.get(scriptId)!;
    };
    for (const node of nodes) {
      const map = mapOf(node.callFrame.scriptId);
      if (!map || node.callFrame.lineNumber < 0) continue;
      const entry = map.findEntry(node.callFrame.lineNumber, node.callFrame.columnNumber) as { originalLine?: number; originalColumn?: number };
      if (entry.originalLine === undefined) continue;
      node.callFrame.lineNumber = entry.originalLine;
      node.callFrame.columnNumber = entry.originalColumn ?? 0;
      // Per-line ticks refer to the generated line; dropped rather than left misleading.
      delete node.positionTicks;
    }
  }
}
