// Media benchmark: upload a 100 MB file and download it again, reporting throughput and the
// server's RSS during each against its idle RSS. Uploads stream to disk and downloads stream
// from it, so RSS must stay flat whatever the file size — that is what this measures.
//
// Peak RSS: VmHWM of the server process, reset before each phase through /proc/<pid>/clear_refs
// ("5" resets the high-water mark; allowed for our own child processes), with VmRSS sampled every
// 10 ms as a fallback where that reset is not permitted.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { BenchClient, BenchUser } from './client.ts';

export interface MediaTransferResult {
  seconds: number;
  mbPerSec: number;
  peakRssBytes: number;
  /** Peak RSS during the transfer minus RSS just before it. */
  rssGrowthBytes: number;
}

export interface MediaBenchResult {
  sizeBytes: number;
  /** Server RSS before the transfers: idle in a --media-only run, after the other phases in a full run. */
  rssBeforeBytes: number;
  upload: MediaTransferResult;
  download: MediaTransferResult;
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
}

/** Samples the process's RSS until stopped; returns the peak seen (and VmHWM when it could be reset). */
function watchRss(pid: number): () => number {
  let hwmReset = false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    hwmReset = true;
  } catch {
    /* not permitted here: sampling only */
  }
  let peak = procStatus(pid, 'VmRSS');
  const timer = setInterval(() => {
    peak = Math.max(peak, procStatus(pid, 'VmRSS'));
  }, 10);
  return () => {
    clearInterval(timer);
    peak = Math.max(peak, procStatus(pid, 'VmRSS'));
    return hwmReset ? Math.max(peak, procStatus(pid, 'VmHWM')) : peak;
  };
}

const MB = 1024 * 1024;

export async function measureMedia(client: BenchClient, user: BenchUser, serverPid: number, sizeMB = 100): Promise<MediaBenchResult> {
  const size = sizeMB * MB;
  // One random megabyte, varied per chunk so the content is not trivially compressible or equal.
  const block = randomBytes(MB);
  async function* body() {
    for (let i = 0; i < sizeMB; i++) {
      block.writeUInt32BE(i, 0);
      yield Buffer.from(block);
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  const idle = procStatus(serverPid, 'VmRSS');

  let before = procStatus(serverPid, 'VmRSS');
  let stop = watchRss(serverPid);
  let start = performance.now();
  const res = await client.pool.request({
    method: 'POST',
    path: '/_matrix/media/v3/upload?filename=bench.bin',
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body: Readable.from(body()),
  });
  const text = await res.body.text();
  let seconds = (performance.now() - start) / 1000;
  let peak = stop();
  if (res.statusCode !== 200) throw new Error(`media upload → ${res.statusCode} ${text.slice(0, 200)}`);
  const upload: MediaTransferResult = { seconds, mbPerSec: sizeMB / seconds, peakRssBytes: peak, rssGrowthBytes: peak - before };
  const mediaId = (JSON.parse(text) as { content_uri: string }).content_uri.split('/').pop();

  await new Promise((r) => setTimeout(r, 500));
  before = procStatus(serverPid, 'VmRSS');
  stop = watchRss(serverPid);
  start = performance.now();
  const down = await client.pool.request({
    method: 'GET',
    path: `/_matrix/client/v1/media/download/bench.local/${mediaId}`,
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  let received = 0;
  for await (const chunk of down.body) received += (chunk as Buffer).length;
  seconds = (performance.now() - start) / 1000;
  peak = stop();
  if (down.statusCode !== 200 || received !== size) throw new Error(`media download → ${down.statusCode}, ${received} of ${size} bytes`);
  const download: MediaTransferResult = { seconds, mbPerSec: sizeMB / seconds, peakRssBytes: peak, rssGrowthBytes: peak - before };
  return { sizeBytes: size, rssBeforeBytes: idle, upload, download };
}
