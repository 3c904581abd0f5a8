// One long-polling /sync client over a raw keep-alive socket, for the delivery benchmark.
//
// Why not undici, like the rest of the bench: the 100 listeners share one load-generator
// process on the same 2 cores as the server. Through undici each answer cost the load generator
// ~130 µs of CPU (measured 2026-11-22: 12.8 ms per probe of 100 answers), so the 100th answer of
// a probe was read ~5 ms after the server had written it, and the measured p99 was as much the
// load generator's queue as the server's. Real clients each have their own machine. This client
// does the least an HTTP/1.1 client must: write a prepared GET, split the answer by
// Content-Length (or chunked encoding), stamp the time the whole answer has been read, then
// parse the JSON. Every answer is still parsed and checked, only after its time is taken.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ListenerAnswer {
  /** performance.now() when the last byte of the answer was read from the socket. */
  readAt: number;
  body: any;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class LongPollListener {
  private socket: Socket | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: ListenerAnswer) => void; reject: (e: Error) => void } | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, private readonly accessToken: string) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /** GET /_matrix/client/v3/sync with the given query; resolves with the parsed answer. */
  async sync(query: string): Promise<ListenerAnswer> {
    const socket = await this.connected();
    if (this.waiting) throw new Error('one request at a time per listener');
    const answer = new Promise<ListenerAnswer>((resolve, reject) => (this.waiting = { resolve, reject }));
    socket.write(
      `GET /_matrix/client/v3/sync?${query} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nAuthorization: Bearer ${this.accessToken}\r\n\r\n`,
    );
    return answer;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.waiting?.reject(new Error('listener closed'));
    this.waiting = undefined;
  }

  private connected(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true }, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.fail(err));
        resolve(socket);
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
        this.fail(new Error('server closed the connection'));
      });
      this.socket = socket;
    });
  }

  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const answer = this.takeAnswer();
    if (!answer) return;
    const readAt = performance.now();
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return;
    if (answer.status !== 200) {
      w.reject(new Error(`GET /sync → ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`));
      return;
    }
    try {
      w.resolve({ readAt, body: JSON.parse(answer.body.toString('utf8')) });
    } catch (err) {
      w.reject(err as Error);
    }
  }

  /** One complete answer off the front of the buffer, or undefined while it is incomplete. */
  private takeAnswer(): { status: number; body: Buffer } | undefined {
    const buf = this.buffered;
    const headerEnd = buf.indexOf(HEADER_END);
    if (headerEnd < 0) return undefined;
    const head = buf.subarray(0, headerEnd).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyStart = headerEnd + 4;
    if (length) {
      const end = bodyStart + Number(length[1]);
      if (buf.length < end) return undefined;
      this.buffered = buf.subarray(end);
      return { status, body: buf.subarray(bodyStart, end) };
    }
    if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) throw new Error(`answer without a length: ${head}`);
    const parts: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      const dataStart = lineEnd + 2;
      if (buf.length < dataStart + size + 2) return undefined;
      if (size === 0) {
        this.buffered = buf.subarray(dataStart + 2);
        return { status, body: Buffer.concat(parts) };
      }
      parts.push(buf.subarray(dataStart, dataStart + size));
      at = dataStart + size + 2;
    }
  }
}
