// Room aliases this server hosts (#localpart:our.server → room ID). Remote aliases are never
// stored: they are resolved over federation on demand. Publication in the room directory is
// `rooms.is_public` (schema/rooms.ts).
export interface AliasTables {
  room_aliases: {
    /** The full alias, "#localpart:server"; unique (one alias points to one room). */
    room_alias: string;
    room_id: string;
    /** The user who created the mapping: they may always delete it. */
    creator: string;
    created_ts: number;
  };
  /** Rooms an appservice lists in its directory of a third-party network. */
  appservice_room_list: {
    appservice_id: string;
    network_id: string;
    room_id: string;
  };
}
