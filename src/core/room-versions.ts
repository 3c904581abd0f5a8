// Room versions (spec "Room Versions"). Each version is a bundle of rule switches; code that
// differs between versions asks for the switch, never for the version string.

export interface RoomVersion {
  id: string;
  stable: boolean;
  /** v1/v2: "$random:server"; v3: standard base64 hash; v4+: URL-safe base64 hash. */
  eventIdFormat: 'v1' | 'v3' | 'v4';
  /** v1 uses state resolution v1; v2–v11 v2; v12 v2.1 (MSC4297: conflicted state subgraph, start from empty). */
  stateRes: 'v1' | 'v2' | 'v2.1';
  /** v5+: signing keys must be valid at origin_server_ts. */
  enforceKeyValidity: boolean;
  /** v1–v5: m.room.aliases is authorised by the sender's server name only. */
  specialCaseAliasesAuth: boolean;
  /** v6+: reject events with floats or out-of-range integers. */
  strictCanonicalJson: boolean;
  /** v6+: power_levels.notifications is checked like other keys. */
  limitNotificationsPowerLevels: boolean;
  /** v7+: the "knock" join rule and membership exist. */
  knockJoinRule: boolean;
  /** v8+: the "restricted" join rule exists. */
  restrictedJoinRule: boolean;
  /** v9+: redaction keeps join_authorised_via_users_server. */
  restrictedJoinRuleFix: boolean;
  /** v10+: the "knock_restricted" join rule exists. */
  knockRestrictedJoinRule: boolean;
  /** v10+: power level values must be integers (not strings). */
  enforceIntPowerLevels: boolean;
  /** v11+: m.room.create has no "creator"; the sender is the creator. */
  implicitRoomCreator: boolean;
  /** v11+: redaction rules of MSC2176/MSC3821/MSC3989, "redacts" moves into content. */
  updatedRedactionRules: boolean;
  /** v12+: room creators (sender + additional_creators) have infinite power (MSC4289). */
  privilegedCreators: boolean;
  /** v12+: the room ID is the reference hash of the create event; create has no room_id (MSC4291). */
  roomIdIsCreateEventHash: boolean;
}

const base: Omit<RoomVersion, 'id'> = {
  stable: true,
  eventIdFormat: 'v1',
  stateRes: 'v1',
  enforceKeyValidity: false,
  specialCaseAliasesAuth: true,
  strictCanonicalJson: false,
  limitNotificationsPowerLevels: false,
  knockJoinRule: false,
  restrictedJoinRule: false,
  restrictedJoinRuleFix: false,
  knockRestrictedJoinRule: false,
  enforceIntPowerLevels: false,
  implicitRoomCreator: false,
  updatedRedactionRules: false,
  privilegedCreators: false,
  roomIdIsCreateEventHash: false,
};

const v1: RoomVersion = { ...base, id: '1' };
const v2: RoomVersion = { ...v1, id: '2', stateRes: 'v2' };
const v3: RoomVersion = { ...v2, id: '3', eventIdFormat: 'v3' };
const v4: RoomVersion = { ...v3, id: '4', eventIdFormat: 'v4' };
const v5: RoomVersion = { ...v4, id: '5', enforceKeyValidity: true };
const v6: RoomVersion = {
  ...v5,
  id: '6',
  specialCaseAliasesAuth: false,
  strictCanonicalJson: true,
  limitNotificationsPowerLevels: true,
};
const v7: RoomVersion = { ...v6, id: '7', knockJoinRule: true };
const v8: RoomVersion = { ...v7, id: '8', restrictedJoinRule: true };
const v9: RoomVersion = { ...v8, id: '9', restrictedJoinRuleFix: true };
const v10: RoomVersion = { ...v9, id: '10', knockRestrictedJoinRule: true, enforceIntPowerLevels: true };
const v11: RoomVersion = { ...v10, id: '11', implicitRoomCreator: true, updatedRedactionRules: true };
const v12: RoomVersion = { ...v11, id: '12', stateRes: 'v2.1', privilegedCreators: true, roomIdIsCreateEventHash: true };

export const ROOM_VERSIONS: ReadonlyMap<string, RoomVersion> = new Map(
  [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12].map((v) => [v.id, v]),
);

/** Versions whose full rules Foyer enforces; rooms can be created in these. */
export const SUPPORTED_ROOM_VERSIONS = ['10', '11', '12'] as const;

export function roomVersion(id: string): RoomVersion | undefined {
  return ROOM_VERSIONS.get(id);
}
