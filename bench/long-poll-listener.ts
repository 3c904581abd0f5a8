// One long-polling /sync client over its own raw keep-alive connection (./raw-connection.ts, which
// says why not undici), for the delivery benchmark and its floor.
import { RawConnection } from './raw-connection.ts';

export interface ListenerAnswer {
  /** performance.now() when the last byte of the answer was read from the socket. */
  readAt: number;
  body: any;
}

export class LongPollListener {
  private readonly connection: RawConnection;

  constructor(baseUrl: string, accessToken: string) {
    this.connection = new RawConnection(baseUrl, accessToken);
  }

  /** GET /_matrix/client/v3/sync with the given query; resolves with the parsed answer. */
  sync(query: string): Promise<ListenerAnswer> {
    return this.connection.requestJson('GET', `/_matrix/client/v3/sync?${query}`);
  }

  close(): void {
    this.connection.close();
  }
}
