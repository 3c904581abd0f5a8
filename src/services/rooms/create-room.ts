// POST /createRoom as the spec orders it ("Creation" in the client-server rooms section):
// create, creator's join, power levels, canonical alias, preset state (join rules, history
// visibility, guest access), initial_state, name, topic, then invites. The whole list is checked
// before the first event is written (creation-plan.ts).
import { MatrixError } from '../../core/errors.ts';
import { isValidUserId, randomString } from '../../core/ids.ts';
import { roomVersion, SUPPORTED_ROOM_VERSIONS, type RoomVersion } from '../../core/room-versions.ts';
import type { EventBuilder } from './event-builder.ts';
import { checkCreationPlan, type PlannedEvent } from './creation-plan.ts';
import type { RoomWriter } from './room-writer.ts';
import type { MembershipService, ProfileLookup } from './membership.ts';

export type Preset = 'private_chat' | 'public_chat' | 'trusted_private_chat';

export interface CreateRoomRequest {
  visibility?: 'public' | 'private';
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  room_version?: string;
  creation_content?: Record<string, unknown>;
  initial_state?: Array<{ type: string; state_key?: string; content: Record<string, unknown> }>;
  preset?: Preset;
  is_direct?: boolean;
  power_level_content_override?: Record<string, unknown>;
}

export interface AliasReservations {
  /** Validates the alias is free and well-formed; returns the full alias. Throws M_ROOM_IN_USE etc. */
  check(localpart: string): Promise<string>;
  /** Records the alias after the room exists. */
  create(alias: string, roomId: string, creator: string): Promise<void>;
}

export interface CreateRoomDeps {
  serverName: string;
  defaultRoomVersion: string;
  encryptionByDefault: 'all' | 'invite' | 'off';
  builder: EventBuilder;
  writer: RoomWriter;
  membership: MembershipService;
  profiles: ProfileLookup;
  aliases?: AliasReservations;
  /** Publishes to the room directory when visibility is public. */
  publish?: (roomId: string) => Promise<void>;
}

export class RoomCreator {
  constructor(private readonly deps: CreateRoomDeps) {}

  /**
   * `presetState: false` leaves out the preset's join rules, history visibility, guest access and
   * default encryption (room upgrades copy the old room's state instead and must not add to it).
   */
  async create(creator: string, req: CreateRoomRequest, options: { presetState?: boolean } = {}): Promise<{ roomId: string; alias?: string }> {
    const versionId = req.room_version ?? this.deps.defaultRoomVersion;
    const version = roomVersion(versionId);
    if (!version || !(SUPPORTED_ROOM_VERSIONS as readonly string[]).includes(versionId)) {
      throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `Room version ${versionId} is not supported`);
    }
    for (const invitee of req.invite ?? []) {
      if (!isValidUserId(invitee)) throw new MatrixError('M_INVALID_PARAM', `Invalid user ID in invite: ${invitee}`);
    }
    const alias = req.room_alias_name !== undefined && this.deps.aliases ? await this.deps.aliases.check(req.room_alias_name) : undefined;
    if (req.room_alias_name !== undefined && !this.deps.aliases) throw new MatrixError('M_UNKNOWN', 'Room aliases are not available');
    const preset: Preset = req.preset ?? (req.visibility === 'public' ? 'public_chat' : 'private_chat');

    // Every event the request implies, in the order the spec gives. They are checked whole
    // (creation-plan.ts) before the first is written, so a request refused at any step leaves
    // no room behind.
    // 1. m.room.create
    const createContent: Record<string, unknown> = { ...(req.creation_content ?? {}), room_version: version.id };
    if (!version.implicitRoomCreator) createContent.creator = creator;
    else delete createContent.creator;
    const planned: PlannedEvent[] = [];

    // 2. The creator joins.
    const profile = await this.deps.profiles.profileOf(creator);
    const joinContent: Record<string, unknown> = { membership: 'join' };
    if (profile?.displayname) joinContent.displayname = profile.displayname;
    if (profile?.avatar_url) joinContent.avatar_url = profile.avatar_url;
    planned.push({ type: 'm.room.member', state_key: creator, content: joinContent });

    // 3. Power levels (the override is merged over our defaults).
    planned.push({ type: 'm.room.power_levels', state_key: '', content: this.powerLevels(version, creator, preset, req) });

    // 4. Canonical alias.
    if (alias) planned.push({ type: 'm.room.canonical_alias', state_key: '', content: { alias } });

    // 5. Preset state, skipping what initial_state sets itself.
    const initial = new Set((req.initial_state ?? []).map((e) => `${e.type}\u0000${e.state_key ?? ''}`));
    const presetState: Array<[string, Record<string, unknown>]> = [
      ['m.room.join_rules', { join_rule: preset === 'public_chat' ? 'public' : 'invite' }],
      ['m.room.history_visibility', { history_visibility: 'shared' }],
    ];
    if (preset !== 'public_chat') presetState.push(['m.room.guest_access', { guest_access: 'can_join' }]);
    const encrypt = this.deps.encryptionByDefault === 'all' || (this.deps.encryptionByDefault === 'invite' && preset !== 'public_chat');
    if (encrypt) presetState.push(['m.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' }]);
    for (const [type, content] of options.presetState === false ? [] : presetState) {
      if (!initial.has(`${type}\u0000`)) planned.push({ type, state_key: '', content });
    }

    // 6. initial_state
    for (const ev of req.initial_state ?? []) planned.push({ type: ev.type, state_key: ev.state_key ?? '', content: ev.content });

    // 7. Name and topic.
    if (req.name !== undefined) planned.push({ type: 'm.room.name', state_key: '', content: { name: req.name } });
    if (req.topic !== undefined) {
      planned.push({
        type: 'm.room.topic',
        state_key: '',
        content: { topic: req.topic, 'm.topic': [{ mimetype: 'text/plain', body: req.topic }] },
      });
    }

    // 8. Invites: each invitee must exist, and the invite must be allowed by the state above.
    const invites = req.invite ?? [];
    for (const invitee of invites) {
      if (invitee === creator) throw new MatrixError('M_FORBIDDEN', `${invitee} is already in the room`);
      if (!(await this.deps.profiles.profileOf(invitee))) throw new MatrixError('M_NOT_FOUND', `Unknown user ${invitee}`);
    }
    const invitePlan = invites.map((invitee): PlannedEvent => ({ type: 'm.room.member', state_key: invitee, content: { membership: 'invite' } }));
    checkCreationPlan(version, creator, this.deps.serverName, createContent, [...planned, ...invitePlan]);

    const roomId = version.roomIdIsCreateEventHash ? undefined : `!${randomString(18)}:${this.deps.serverName}`;
    const createEvent = this.deps.builder.buildCreate(version, creator, createContent, roomId);
    await this.deps.writer.create(createEvent, version);
    const id = createEvent.roomId;
    for (const event of planned) await this.deps.writer.send(id, { ...event, sender: creator });

    if (alias) await this.deps.aliases!.create(alias, id, creator);
    if (req.visibility === 'public' && this.deps.publish) await this.deps.publish(id);

    for (const invitee of invites) {
      await this.deps.membership.perform('invite', id, creator, { target: invitee, isDirect: req.is_direct });
    }
    return { roomId: id, alias };
  }

  private powerLevels(version: RoomVersion, creator: string, preset: Preset, req: CreateRoomRequest): Record<string, unknown> {
    const users: Record<string, number> = {};
    // v12: creators have infinite power and must not be listed.
    if (!version.privilegedCreators) users[creator] = 100;
    if (preset === 'trusted_private_chat') for (const invitee of req.invite ?? []) users[invitee] = 100;
    const content: Record<string, unknown> = {
      users,
      users_default: 0,
      events: {
        'm.room.name': 50,
        'm.room.power_levels': 100,
        'm.room.history_visibility': 100,
        'm.room.canonical_alias': 50,
        'm.room.avatar': 50,
        'm.room.tombstone': 100,
        'm.room.server_acl': 100,
        'm.room.encryption': 100,
      },
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: preset === 'public_chat' ? 50 : 0,
      historical: 100,
    };
    for (const [k, v] of Object.entries(req.power_level_content_override ?? {})) content[k] = v;
    return content;
  }
}
