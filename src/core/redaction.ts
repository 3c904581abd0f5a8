// The redaction algorithm (spec "Room Versions" → "Redactions"): strips an event down to the
// keys needed for authorisation and hashing. Used for reference hashes (event IDs), for
// signature checks, and to serve redacted events.
import type { RoomVersion } from './room-versions.ts';

// In code point order: the redacted copy then has its keys in canonical order already, and
// canonical JSON (signatures, event IDs) need not sort them.
const KEPT_TOP_LEVEL = [
  'auth_events', 'content', 'depth', 'event_id', 'hashes', 'origin_server_ts', 'prev_events',
  'room_id', 'sender', 'signatures', 'state_key', 'type',
];
const KEPT_TOP_LEVEL_BEFORE_V11 = [...KEPT_TOP_LEVEL, 'membership', 'origin', 'prev_state'].sort();

function keptContentKeys(type: string, version: RoomVersion): string[] | 'all' {
  const v11 = version.updatedRedactionRules;
  switch (type) {
    case 'm.room.member':
      return version.restrictedJoinRuleFix ? ['membership', 'join_authorised_via_users_server'] : ['membership'];
    case 'm.room.create':
      return v11 ? 'all' : ['creator'];
    case 'm.room.join_rules':
      return version.restrictedJoinRule ? ['join_rule', 'allow'] : ['join_rule'];
    case 'm.room.power_levels': {
      const keys = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];
      return v11 ? [...keys, 'invite'] : keys;
    }
    case 'm.room.aliases':
      return version.specialCaseAliasesAuth ? ['aliases'] : [];
    case 'm.room.history_visibility':
      return ['history_visibility'];
    case 'm.room.redaction':
      return v11 ? ['redacts'] : [];
    default:
      return [];
  }
}

export function redactEvent<T extends Record<string, unknown>>(event: T, version: RoomVersion): T {
  const keepTop = version.updatedRedactionRules ? KEPT_TOP_LEVEL : KEPT_TOP_LEVEL_BEFORE_V11;
  const out: Record<string, unknown> = {};
  for (const key of keepTop) if (key in event) out[key] = event[key];

  const content = (event.content ?? {}) as Record<string, unknown>;
  const type = String(event.type);
  const kept = keptContentKeys(type, version);
  let newContent: Record<string, unknown> = {};
  if (kept === 'all') newContent = { ...content };
  else for (const key of kept) if (key in content) newContent[key] = content[key];

  // v11: of a member event's third_party_invite only "signed" survives.
  if (version.updatedRedactionRules && type === 'm.room.member') {
    const tpi = content.third_party_invite as Record<string, unknown> | undefined;
    if (tpi && typeof tpi === 'object' && 'signed' in tpi) newContent.third_party_invite = { signed: tpi.signed };
  }
  out.content = newContent;
  return out as T;
}
