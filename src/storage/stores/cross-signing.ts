// Queries on cross-signing keys (master, self-signing, user-signing) and on the signatures
// uploaded for devices and cross-signing keys.
import type { Kysely } from 'kysely';
import type { DB } from '../schema/index.ts';

export interface CrossSigningKeyRow {
  user_id: string;
  usage: string;
  public_key: string;
  key_json: string;
}

export interface SignatureRow {
  signer_user_id: string;
  signer_key_id: string;
  target_user_id: string;
  target_key_id: string;
  signature: string;
}

export class CrossSigningStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** The users' current cross-signing keys with the given usages. */
  async keysOf(userIds: string[], usages: string[], trx: Kysely<DB> = this.db): Promise<CrossSigningKeyRow[]> {
    if (userIds.length === 0 || usages.length === 0) return [];
    return trx
      .selectFrom('e2e_cross_signing_keys')
      .select(['user_id', 'usage', 'public_key', 'key_json'])
      .where('user_id', 'in', userIds)
      .where('usage', 'in', usages)
      .execute();
  }

  async putKey(row: CrossSigningKeyRow, trx: Kysely<DB>): Promise<void> {
    await trx
      .insertInto('e2e_cross_signing_keys')
      .values(row)
      .onConflict((oc) => oc.columns(['user_id', 'usage']).doUpdateSet({ public_key: row.public_key, key_json: row.key_json }))
      .execute();
  }

  async putSignatures(rows: SignatureRow[], trx: Kysely<DB>): Promise<void> {
    for (const row of rows) {
      await trx
        .insertInto('e2e_cross_signing_signatures')
        .values(row)
        .onConflict((oc) => oc.columns(['target_user_id', 'target_key_id', 'signer_user_id', 'signer_key_id']).doUpdateSet({ signature: row.signature }))
        .execute();
    }
  }

  /**
   * Signatures on the targets' keys made by the target's owner or by one of `signers` (the
   * requester: signatures others made with their user-signing keys are private to them).
   */
  async signaturesFor(targetUserIds: string[], signers: string[]): Promise<SignatureRow[]> {
    if (targetUserIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('e2e_cross_signing_signatures')
      .selectAll()
      .where('target_user_id', 'in', targetUserIds)
      .where((eb) => eb.or([eb('signer_user_id', '=', eb.ref('target_user_id')), ...(signers.length > 0 ? [eb('signer_user_id', 'in', signers)] : [])]))
      .execute();
    return rows;
  }

  /** Forgets signatures on deleted devices and those the devices made. */
  async deleteForDevices(userId: string, deviceIds: string[], trx: Kysely<DB>): Promise<void> {
    if (deviceIds.length === 0) return;
    await trx.deleteFrom('e2e_cross_signing_signatures').where('target_user_id', '=', userId).where('target_key_id', 'in', deviceIds).execute();
    await trx
      .deleteFrom('e2e_cross_signing_signatures')
      .where('signer_user_id', '=', userId)
      .where('signer_key_id', 'in', deviceIds.map((d) => `ed25519:${d}`))
      .execute();
  }
}
