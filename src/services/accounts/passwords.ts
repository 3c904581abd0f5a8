// Password hashing. New hashes are argon2id (OWASP's recommended parameters); bcrypt hashes
// imported from Synapse ($2a$/$2b$/$2y$) still verify, and are upgraded to argon2id on the next
// successful login.
import type { Options as Argon2Options } from '@node-rs/argon2';
import { MatrixError } from '../../core/errors.ts';

// 19 MiB, 2 passes, 1 lane: OWASP's argon2id baseline. (Algorithm.Argon2id = 2; the enum is a
// `const enum` in the package's typings, which type-stripping cannot inline.)
const ARGON2_OPTIONS: Argon2Options = { algorithm: 2 as Argon2Options['algorithm'], memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** Longer passwords are refused: hashing is costly and bcrypt ignores bytes past 72 anyway. */
export const MAX_PASSWORD_LENGTH = 512;

// Loaded on first use: a server that is up for days may see few password checks, and the
// native argon2 module costs several MB of resident memory from the moment it is loaded.
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'));

export async function hashPassword(password: string): Promise<string> {
  return (await loadArgon2()).hash(password, ARGON2_OPTIONS);
}

// A hash of a random password, verified against when the user does not exist so that an
// unknown user takes as long to refuse as a wrong password.
let decoyHash: Promise<string> | undefined;

/** True if the password matches; a null/unknown hash never matches. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (!stored) {
    decoyHash ??= hashPassword(`decoy-${Math.random()}`);
    const hash = await decoyHash;
    await (await loadArgon2()).verify(hash, password).catch(() => false);
    return false;
  }
  try {
    if (stored.startsWith('$argon2')) return await (await loadArgon2()).verify(stored, password);
    // Only servers migrated from Synapse have these; bcryptjs is loaded the first time one is seen.
    if (/^\$2[aby]\$/.test(stored)) return await (await import('bcryptjs')).default.compare(password, stored);
  } catch {
    return false;
  }
  return false;
}

/** True for hashes that should be replaced by an argon2id one after a successful check. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith('$argon2id$');
}

/** The server's password policy for new passwords (400 M_WEAK_PASSWORD / M_INVALID_PARAM). */
export function checkNewPassword(password: string): void {
  if (password.length === 0) throw new MatrixError('M_WEAK_PASSWORD', 'Password must not be empty');
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new MatrixError('M_INVALID_PARAM', `Password too long (max ${MAX_PASSWORD_LENGTH} characters)`);
  }
}
