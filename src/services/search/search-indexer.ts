// Keeps the full-text index in step with the room timeline. Runs as a persist WriteHook, so an
// event's index row commits in the same transaction as the event, and a redaction removes its
// target's row in the redaction's transaction: search never finds text that is gone.
// On SQLite the event's row is only marked for the index, and marked events above a watermark
// move into the FTS index every FLUSH_EVERY indexed events, inside that event's transaction
// (migrations 0130 and 0160, stores/search.ts); searches flush first. A redaction of an event not
// flushed yet needs nothing here: its target's redacted_by keeps it out of the next flush.
//
// Encrypted rooms have nothing to index (m.room.encrypted carries no body); plaintext messages
// sent into a room that has turned encryption on are not indexed either, since the spec keeps
// encrypted rooms out of search.
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema/index.ts';
import { searchValueOf, type SearchStore, type SearchValue } from '../../storage/stores/search.ts';
import { redactsOf, stateKeyOf, type RoomEvent } from '../../core/pdu.ts';
import type { StoredEvent } from '../rooms/event-reader.ts';
import type { WriteHook } from '../rooms/persist.ts';

/** Events per FTS segment: large enough to amortise a segment, small enough to stay quick. */
const FLUSH_EVERY = 256;

type Prepared =
  | { kind: 'index'; entry: SearchValue }
  | { kind: 'unindex'; targetId: string; roomId: string }
  | null;

export class SearchIndexer implements WriteHook<Prepared> {
  /** Events marked since the last flush (an estimate: rolled-back ones count too, harmlessly). */
  private marked = 0;

  constructor(private readonly store: Pick<SearchStore, 'insert' | 'deleteEvent' | 'flushPending'>) {}

  async prepare(event: RoomEvent, state: ReadonlyMap<string, StoredEvent>): Promise<Prepared> {
    const pdu = event.pdu;
    if (pdu.type === 'm.room.redaction') {
      const targetId = redactsOf(pdu);
      return targetId ? { kind: 'unindex', targetId, roomId: event.roomId } : null;
    }
    if (state.has(stateKeyOf('m.room.encryption', ''))) return null;
    // State events are searchable only as state (m.room.name / m.room.topic with key "").
    if ((pdu.type === 'm.room.name' || pdu.type === 'm.room.topic') && pdu.state_key !== '') return null;
    if (pdu.type === 'm.room.message' && pdu.state_key !== undefined) return null;
    const entry = searchValueOf(pdu.type, pdu.content);
    return entry ? { kind: 'index', entry } : null;
  }

  async write(prepared: Prepared, trx: Kysely<DB>, _streamPos: number, stored: { nid: number; eventId: string; roomId: string }): Promise<void> {
    if (!prepared) return;
    if (prepared.kind === 'unindex') {
      await this.store.deleteEvent(prepared.targetId, prepared.roomId, trx);
      return;
    }
    await this.store.insert(stored, prepared.entry, trx);
    if (++this.marked >= FLUSH_EVERY) {
      this.marked = 0;
      await this.store.flushPending(trx);
    }
  }
}
