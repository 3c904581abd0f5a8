// Media bytes on disk, content-addressed: `<data_dir>/media/ab/cd/<file key>`. Uploads stream
// to a temp file (hashed while streaming, never held in memory) and are renamed into place; a
// file whose key already exists is not written twice, so identical uploads share one file.
//
// Encryption at rest (optional, AES-256-GCM, key from config): each file is written as
//   MAGIC (8) | nonce (12, random per file) | ciphertext | tag (16)
// and its key is HMAC-SHA256(names key, sha256 of the plaintext) instead of the plain hash, where
// the names key is derived from the encryption key (HKDF). Deduplication still works — equal
// plaintexts give equal keys — but someone holding the disk (files and database) can neither read
// the media nor confirm that a known file is stored by hashing it. The one file for equal
// plaintexts keeps the nonce of its first upload; later identical uploads discard their own
// ciphertext. GCM is decrypted as a stream: bytes reach the client before the tag is checked at
// the end, and a tampered file aborts the response there.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, stat, unlink, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';

const MAGIC = Buffer.from('FOYERME1');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + NONCE_BYTES;

/** The stream carried more bytes than allowed. */
export class TooManyBytesError extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
  }
}

export interface ReceivedFile {
  tempPath: string;
  /** sha256 of the plaintext, hex. */
  sha256: string;
  size: number;
  encrypted: boolean;
}

export interface StoredFile {
  fileKey: string;
  size: number;
  encrypted: boolean;
}

export class MediaFiles {
  private readonly tmpDir: string;
  private readonly nameKey: Buffer | null;

  /**
   * `removeLeftovers`: the server, at start-up, deletes temp files a crash left behind. The CLI
   * does not (a running server's uploads in progress are in the same folder).
   */
  constructor(
    private readonly root: string,
    private readonly encryptionKey: Buffer | null,
    removeLeftovers = false,
  ) {
    if (encryptionKey && encryptionKey.length !== 32) throw new Error('media encryption key must be 32 bytes');
    this.nameKey = encryptionKey ? Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'foyer media file names', 32)) : null;
    this.tmpDir = join(root, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    // Left over by a crash mid-upload: nothing refers to them.
    if (removeLeftovers) for (const name of readdirSync(this.tmpDir)) rmSync(join(this.tmpDir, name), { force: true });
  }

  get encrypting(): boolean {
    return this.encryptionKey !== null;
  }

  /** The on-disk name for content with this plaintext hash (see the header comment). */
  fileKeyFor(sha256: string): string {
    return this.nameKey ? createHmac('sha256', this.nameKey).update(sha256).digest('hex') : sha256;
  }

  pathOf(fileKey: string): string {
    if (!/^[0-9a-f]{64}$/.test(fileKey)) throw new Error('invalid media file key');
    return join(this.root, fileKey.slice(0, 2), fileKey.slice(2, 4), fileKey);
  }

  /**
   * Streams `source` to a temp file, hashing (and encrypting) as it goes. Rejects with
   * TooManyBytesError as soon as more than `maxBytes` arrive; the rest of the source is then
   * read and discarded, so that the client can still read the error response.
   */
  receive(source: Readable, maxBytes: number): Promise<ReceivedFile> {
    const tempPath = join(this.tmpDir, randomBytes(16).toString('hex'));
    const out = createWriteStream(tempPath, { mode: 0o600 });
    const hash = createHash('sha256');
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = this.encryptionKey ? createCipheriv('aes-256-gcm', this.encryptionKey, nonce) : null;
    if (cipher) out.write(Buffer.concat([MAGIC, nonce]));
    return new Promise<ReceivedFile>((resolve, reject) => {
      let size = 0;
      let settled = false;
      let ended = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        source.resume();
        out.destroy();
        void unlink(tempPath).catch(() => {});
        reject(error);
      };
      source.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > maxBytes) return fail(new TooManyBytesError(maxBytes));
        hash.update(chunk);
        if (!out.write(cipher ? cipher.update(chunk) : chunk)) {
          source.pause();
          out.once('drain', () => {
            if (!settled) source.resume();
          });
        }
      });
      source.once('end', () => {
        ended = true;
        if (settled) return;
        if (cipher) out.write(Buffer.concat([cipher.final(), cipher.getAuthTag()]));
        out.end(() => {
          if (settled) return;
          settled = true;
          resolve({ tempPath, sha256: hash.digest('hex'), size, encrypted: cipher !== null });
        });
      });
      source.once('error', (err) => fail(err));
      source.once('close', () => {
        if (!ended) fail(new Error('upload aborted'));
      });
      out.once('error', (err) => fail(err));
    });
  }

  /** Moves a received file into place under its key, or drops it if the key exists already. */
  async commit(received: ReceivedFile): Promise<StoredFile> {
    const fileKey = this.fileKeyFor(received.sha256);
    const path = this.pathOf(fileKey);
    if (await exists(path)) {
      await unlink(received.tempPath).catch(() => {});
    } else {
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await rename(received.tempPath, path);
    }
    return { fileKey, size: received.size, encrypted: received.encrypted };
  }

  /** Drops a received file that will not be kept (quota exceeded, upload refused). */
  async discard(received: ReceivedFile): Promise<void> {
    await unlink(received.tempPath).catch(() => {});
  }

  keyOfBuffer(data: Buffer): string {
    return this.fileKeyFor(createHash('sha256').update(data).digest('hex'));
  }

  /** Stores a small generated file (a thumbnail) held in memory. */
  async storeBuffer(data: Buffer): Promise<StoredFile> {
    const fileKey = this.keyOfBuffer(data);
    const path = this.pathOf(fileKey);
    if (!(await exists(path))) {
      let bytes = data;
      if (this.encryptionKey) {
        const nonce = randomBytes(NONCE_BYTES);
        const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, nonce);
        bytes = Buffer.concat([MAGIC, nonce, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
      }
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      const temp = join(this.tmpDir, randomBytes(16).toString('hex'));
      await writeFile(temp, bytes, { mode: 0o600 });
      await rename(temp, path);
    }
    return { fileKey, size: data.length, encrypted: this.encryptionKey !== null };
  }

  /** A stream of the plaintext bytes of a stored file. */
  async open(fileKey: string, encrypted: boolean): Promise<Readable> {
    const path = this.pathOf(fileKey);
    if (!encrypted) return createReadStream(path);
    if (!this.encryptionKey) throw new Error('media file is encrypted but no media encryption key is configured');
    const { size } = await stat(path);
    if (size < HEADER_BYTES + TAG_BYTES) throw new Error('encrypted media file is truncated');
    const handle = await open(path, 'r');
    const header = Buffer.alloc(HEADER_BYTES);
    const tag = Buffer.alloc(TAG_BYTES);
    try {
      await handle.read(header, 0, HEADER_BYTES, 0);
      await handle.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
    } finally {
      await handle.close();
    }
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('media file is not in the encrypted format');
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, header.subarray(MAGIC.length));
    decipher.setAuthTag(tag);
    if (size === HEADER_BYTES + TAG_BYTES) {
      // Empty plaintext: a read stream over zero bytes cannot be expressed with start/end.
      decipher.end();
      return decipher;
    }
    const ciphertext = createReadStream(path, { start: HEADER_BYTES, end: size - TAG_BYTES - 1 });
    return pipeline(ciphertext, decipher, () => {});
  }

  /** The whole plaintext of a stored file (thumbnail sources, bounded by the caller). */
  async readAll(fileKey: string, encrypted: boolean): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(fileKey, encrypted)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async remove(fileKey: string): Promise<void> {
    await unlink(this.pathOf(fileKey)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
