// One HTTP/1.1 keep-alive connection over a raw socket, for the load generator's hot loops:
// the senders of the throughput phases and the 100 long-polling listeners of the delivery phase.
//
// Why not undici, like the rest of the bench: on 2 cores the load generator runs beside the
// server, so its own CPU per request is in every sequential round trip and takes a core's share
// from the server under concurrency. Through undici, a send cost the load generator ~0.17 ms of
// CPU and each long-poll answer ~130 µs (measured 2026-11-22). Real clients each have their own
// machine. This connection does the least an HTTP/1.1 client must: write a prepared request,
// split the answer by Content-Length (or chunked encoding) and stamp the time it has been read
// in full. Callers parse and check every answer, after its time is taken.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RawAnswer {
  /** performance.now() when the last byte of the answer was read from the socket. */
  readAt: number;
  status: number;
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class RawConnection {
  private socket: Socket | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, private readonly accessToken: string) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /** One request at a time; `body` is sent as JSON. */
  async request(method: 'GET' | 'PUT' | 'POST', path: string, body?: string): Promise<RawAnswer> {
    const socket = await this.connected();
    if (this.waiting) throw new Error('one request at a time per connection');
    const answer = new Promise<RawAnswer>((resolve, reject) => (this.waiting = { resolve, reject }));
    const head = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nAuthorization: Bearer ${this.accessToken}\r\n`;
    socket.write(
      body === undefined ? `${head}\r\n` : `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return answer;
  }

  /** `request`, then the answer's JSON, or an error naming the request if it is not a 200. */
  async requestJson<T = any>(method: 'GET' | 'PUT' | 'POST', path: string, body?: string): Promise<{ readAt: number; body: T }> {
    const answer = await this.request(method, path, body);
    const text = answer.body.toString('utf8');
    if (answer.status !== 200) throw new Error(`${method} ${path.split('?')[0]} → ${answer.status} ${text.slice(0, 300)}`);
    return { readAt: answer.readAt, body: JSON.parse(text) as T };
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.fail(new Error('connection closed'));
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
    w?.resolve({ readAt, status: answer.status, body: answer.body });
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
