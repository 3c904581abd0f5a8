// Shutdown while a transaction to a bridge is in flight: the sender must not start its retry
// backoff after stop() (it used to, holding close() for up to retry_max on a timer that did not
// keep the process alive).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASES, startTestServer } from './harness.ts';
import { createRoom, say } from './support/room-actions.ts';

for (const kind of DATABASES) {
  describe(`appservice shutdown [${kind}]`, () => {
    let bridge: Server | undefined;
    after(() => new Promise<void>((resolve) => (bridge ? bridge.close(() => resolve()) : resolve())));

    it('close() returns once the in-flight transaction is answered, without waiting out the retry backoff', async () => {
      // A bridge that takes 300 ms to refuse every transaction.
      let received!: () => void;
      const firstTxn = new Promise<void>((resolve) => (received = resolve));
      bridge = createServer((req, res) => {
        req.resume();
        received();
        setTimeout(() => res.writeHead(500, { 'content-type': 'application/json' }).end('{}'), 300);
      });
      await new Promise<void>((resolve) => bridge!.listen(0, '127.0.0.1', resolve));
      const port = (bridge.address() as { port: number }).port;
      const dir = mkdtempSync(join(tmpdir(), 'foyer-as-shutdown-'));
      const file = join(dir, 'registration.yaml');
      writeFileSync(
        file,
        [
          'id: slowbridge',
          `url: http://127.0.0.1:${port}`,
          `as_token: as_${randomBytes(12).toString('hex')}`,
          `hs_token: hs_${randomBytes(12).toString('hex')}`,
          'sender_localpart: slowbridge_bot',
          'namespaces:',
          '  users:',
          '    - exclusive: true',
          "      regex: '@slow_.*'",
          '  rooms:',
          '    - exclusive: false',
          "      regex: '.*'",
          '',
        ].join('\n'),
      );
      // A failed transaction is retried after 60 s: a close() that waited for that would time out.
      const s = await startTestServer(kind, { app_service_config_files: [file], appservices: { retry_initial: '60s', retry_max: '60s' } });
      let closed = false;
      try {
        const alice = await s.registerUser('alice');
        const roomId = await createRoom(s, alice, { preset: 'public_chat' });
        await say(s, alice, roomId, 'for the bridge');
        await firstTxn;
        const started = Date.now();
        await s.close();
        closed = true;
        const took = Date.now() - started;
        assert.ok(took < 10_000, `close() took ${took} ms`);
      } finally {
        if (!closed) await s.close();
      }
    });
  });
}
