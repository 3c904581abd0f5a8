// A test application service that runs as its own process (started by test/support/
// appservice-child.ts): it answers PUT /_matrix/app/v1/transactions/{txnId} and appends each new
// transaction as one JSON line to a file *before* acknowledging it, deduplicating by txn ID
// across its own restarts (it reads the file back on start), as a bridge with a database does.
// Arguments: --port N (0: any) --hs-token T --log FILE. Prints "listening PORT" when ready.
import { createServer } from 'node:http';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'hs-token': { type: 'string' }, log: { type: 'string' } } });
const hsToken = values['hs-token']!;
const logFile = values.log!;

const seen = new Set<string>();
if (existsSync(logFile)) {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) if (line) seen.add((JSON.parse(line) as { txnId: string }).txnId);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${hsToken}`) return send(403, { errcode: 'M_FORBIDDEN' });
    const m = /^\/_matrix\/app\/v1\/transactions\/([^/?]+)/.exec(req.url ?? '');
    if (req.method !== 'PUT' || !m) return send(404, { errcode: 'M_UNRECOGNIZED' });
    const txnId = decodeURIComponent(m[1]);
    if (!seen.has(txnId)) {
      appendFileSync(logFile, JSON.stringify({ txnId, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }) + '\n');
      seen.add(txnId);
    }
    send(200, {});
  });
});
server.listen(Number(values.port ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
