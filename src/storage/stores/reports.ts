// Queries on content reports. Whether a report is acceptable is the service's business.
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB } from '../schema/index.ts';
import type { ReportKind } from '../schema/reports.ts';

export type ReportRow = Selectable<DB['content_reports']>;
export type NewReport = Insertable<DB['content_reports']>;

export interface ReportQuery {
  kind?: ReportKind;
  roomId?: string;
  reporter?: string;
  /** Reports with an ID below this one (newest-first paging). */
  beforeId?: number;
  limit: number;
}

function normalise(row: ReportRow): ReportRow {
  // PostgreSQL returns bigint/bigserial columns as strings.
  return { ...row, id: Number(row.id), received_ts: Number(row.received_ts), score: row.score === null ? null : Number(row.score) };
}

export class ReportStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** Stores a report and returns its ID. */
  async insert(report: NewReport): Promise<number> {
    const row = await this.db.insertInto('content_reports').values(report).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async get(id: number): Promise<ReportRow | undefined> {
    const row = await this.db.selectFrom('content_reports').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? normalise(row) : undefined;
  }

  /** Newest first. */
  async list(q: ReportQuery): Promise<ReportRow[]> {
    let query = this.db.selectFrom('content_reports').selectAll();
    if (q.kind !== undefined) query = query.where('kind', '=', q.kind);
    if (q.roomId !== undefined) query = query.where('room_id', '=', q.roomId);
    if (q.reporter !== undefined) query = query.where('reporter', '=', q.reporter);
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(normalise);
  }

  async count(q: Omit<ReportQuery, 'beforeId' | 'limit'> = {}): Promise<number> {
    let query = this.db.selectFrom('content_reports').select((eb) => eb.fn.countAll<number | string>().as('n'));
    if (q.kind !== undefined) query = query.where('kind', '=', q.kind);
    if (q.roomId !== undefined) query = query.where('room_id', '=', q.roomId);
    if (q.reporter !== undefined) query = query.where('reporter', '=', q.reporter);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async delete(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('content_reports').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
