// Spec (rooms v2+, "Mainline ordering", algorithm step 3). The events left after the power
// events are ordered by how far back along the resolved power levels' history ("mainline") their
// own power levels lie: events based on older power levels come first, so the ones written under
// the newest power levels are applied last and win. Ties: origin_server_ts, then event ID.

import type { RoomEvent } from '../pdu.ts';
import type { RoomVersion } from '../room-versions.ts';
import { authEventIdsOf, compareIds, tsOf, type EventCache } from './source.ts';

/** The m.room.power_levels event among an event's auth events, if any. */
async function powerLevelsAuthEvent(event: RoomEvent, cache: EventCache, version: RoomVersion): Promise<RoomEvent | undefined> {
  const authIds = authEventIdsOf(event, version);
  await cache.load(authIds);
  for (const id of authIds) {
    const auth = cache.get(id);
    if (auth && auth.pdu.type === 'm.room.power_levels' && auth.pdu.state_key === '') return auth;
  }
  return undefined;
}

/** P_0, P_1, …, P_n: each the power levels event in the auth events of the one before. */
export async function mainlineOf(powerLevelsId: string | undefined, cache: EventCache, version: RoomVersion): Promise<string[]> {
  const mainline: string[] = [];
  const seen = new Set<string>();
  let current = powerLevelsId === undefined ? undefined : await cache.fetch(powerLevelsId);
  // `seen` only guards against cyclic auth_events, which hash event IDs make impossible.
  while (current && !seen.has(current.eventId)) {
    seen.add(current.eventId);
    mainline.push(current.eventId);
    current = await powerLevelsAuthEvent(current, cache, version);
  }
  return mainline;
}

/**
 * Orders `eventIds` by mainline position relative to `powerLevelsId` (the power levels event of
 * the partially resolved state; undefined when it has none, which puts every event at ∞).
 * Every event given must already be loaded into `cache`.
 */
export async function mainlineSort(
  eventIds: Iterable<string>,
  powerLevelsId: string | undefined,
  cache: EventCache,
  version: RoomVersion,
): Promise<string[]> {
  const ids = [...eventIds];
  if (ids.length === 0) return ids;
  const mainline = await mainlineOf(powerLevelsId, cache, version);
  const indexOnMainline = new Map(mainline.map((id, i) => [id, i]));

  // Mainline position of a power levels event: its index if on the mainline, else that of the
  // power levels event it cites. Memoised, since most events cite the same few.
  const positionOfPowerLevels = new Map<string, number>();
  const positionFrom = async (first: RoomEvent | undefined): Promise<number> => {
    const path = new Set<string>();
    let position = Infinity;
    for (let pl = first; pl; pl = await powerLevelsAuthEvent(pl, cache, version)) {
      const known = indexOnMainline.get(pl.eventId) ?? positionOfPowerLevels.get(pl.eventId);
      if (known !== undefined) {
        position = known;
        break;
      }
      if (path.has(pl.eventId)) break; // cyclic auth_events: never on the mainline
      path.add(pl.eventId);
    }
    for (const id of path) positionOfPowerLevels.set(id, position);
    return position;
  };

  const keys = new Map<string, { position: number; ts: number }>();
  for (const id of ids) {
    const event = cache.get(id)!;
    // The list starts at e_1, the power levels event e cites — never e itself.
    keys.set(id, { position: await positionFrom(await powerLevelsAuthEvent(event, cache, version)), ts: tsOf(event) });
  }
  return ids.sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    // Greater position = based on an older mainline event = sorts first.
    if (ka.position !== kb.position) return ka.position > kb.position ? -1 : 1;
    if (ka.ts !== kb.ts) return ka.ts < kb.ts ? -1 : 1;
    return compareIds(a, b);
  });
}
