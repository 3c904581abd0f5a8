// The media encryption key (media.encryption_key or media.encryption_key_file): base64 of 32
// bytes, or null when media is stored unencrypted. A malformed key stops start-up rather than
// silently storing plaintext.
import { readFileSync } from 'node:fs';
import type { Config } from './schema.ts';
import { ConfigError } from './load.ts';

export function mediaEncryptionKey(media: Pick<Config['media'], 'encryption_key' | 'encryption_key_file'>): Buffer | null {
  if (media.encryption_key !== undefined && media.encryption_key_file !== undefined) {
    throw new ConfigError('media: set encryption_key or encryption_key_file, not both');
  }
  let text = media.encryption_key;
  if (media.encryption_key_file !== undefined) {
    try {
      text = readFileSync(media.encryption_key_file, 'utf8').trim();
    } catch {
      throw new ConfigError(`media.encryption_key_file: cannot read ${media.encryption_key_file}`);
    }
  }
  if (text === undefined) return null;
  const key = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  if (key.length !== 32) throw new ConfigError('media encryption key must be the base64 of 32 bytes (generate one with: openssl rand -base64 32)');
  return key;
}
