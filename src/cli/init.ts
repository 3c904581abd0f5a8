// `foyer init`: writes a commented foyer.yaml, the server's ed25519 signing key (Synapse's key
// file format) and a registration shared secret. Refuses to overwrite an existing config.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatSigningKeyFile, generateSigningKey } from '../core/signing.ts';
import { isValidServerName } from '../core/ids.ts';
import { renderConfigTemplate } from '../config/template.ts';

export interface InitOptions {
  serverName: string;
  dataDir: string;
  configPath: string;
  port: number;
  bind: string;
  database?: string;
}

export class CliError extends Error {}

export function performInit(opts: InitOptions): string {
  if (!isValidServerName(opts.serverName)) throw new CliError(`invalid server name: ${opts.serverName}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new CliError(`invalid port: ${opts.port}`);
  if (opts.database && !/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(opts.database)) {
    throw new CliError('--database takes sqlite:PATH or a postgres:// URL');
  }
  const configPath = resolve(opts.configPath);
  if (existsSync(configPath)) throw new CliError(`${configPath} already exists; not overwriting it`);
  const dataDir = resolve(opts.dataDir);
  const configDir = dirname(configPath);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(configDir, { recursive: true });

  const rel = (p: string) => relative(configDir, p) || '.';
  const keyPath = resolve(dataDir, 'signing.key');
  if (!existsSync(keyPath)) writeFileSync(keyPath, formatSigningKeyFile(generateSigningKey()), { mode: 0o600 });

  const text = renderConfigTemplate({
    serverName: opts.serverName,
    bind: opts.bind,
    port: opts.port,
    dataDir: rel(dataDir),
    databaseUrl: opts.database ?? `sqlite:${rel(resolve(dataDir, 'foyer.db'))}`,
    signingKeyPath: rel(keyPath),
    sharedSecret: randomBytes(32).toString('base64url'),
    mediaEncryptionKey: randomBytes(32).toString('base64'),
  });
  writeFileSync(configPath, text, { mode: 0o600 });
  return configPath;
}
