// Every table that records rows at a global stream position. At start-up the position
// allocator resumes after the highest position in any of them. Add a line when a new stream
// (to-device, receipts, account data, …) gets its own table.
import { sql, type Kysely } from 'kysely';
import type { DB } from './schema/index.ts';

export const STREAM_TABLES: ReadonlyArray<readonly [table: string, column: string]> = [
  ['events', 'stream_pos'],
  ['room_current_state', 'stream_pos'],
  ['account_data', 'stream_pos'],
  ['receipts', 'stream_pos'],
  ['presence', 'stream_pos'],
  ['device_list_changes', 'stream_pos'],
  ['to_device_messages', 'stream_pos'],
];

export async function queryMaxStreamPosition(db: Kysely<DB>): Promise<number> {
  let max = 0;
  for (const [table, column] of STREAM_TABLES) {
    const row = await sql<{ m: number | null }>`select max(${sql.ref(column)}) as m from ${sql.table(table)}`.execute(db);
    max = Math.max(max, Number(row.rows[0]?.m ?? 0));
  }
  return max;
}
