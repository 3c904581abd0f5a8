// Appservice room directories (application service API "Room directories"): a bridge lists
// rooms per third-party network, apart from the server's own directory; /publicRooms shows them
// for `third_party_instance_id` ("appservice id|network id") or `include_all_networks`.
import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  await db.schema
    .createTable('appservice_room_list')
    .addColumn('appservice_id', 'text', (c) => c.notNull())
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('appservice_room_list_pk', ['appservice_id', 'network_id', 'room_id'])
    .execute();
}
