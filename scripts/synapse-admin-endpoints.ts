// The Synapse admin API (/_synapse/admin/...) is not part of the Matrix specification, but admin
// tools (synadm, Ketesa / synapse-admin, bridge setup scripts) call it, so Foyer serves the parts
// that make sense for it. This list follows Synapse's admin API documentation
// (docs/admin_api/*.md and docs/usage/administration/admin_api/*.md in element-hq/synapse); it is
// read by scripts/extract-spec-endpoints.ts into docs/spec-endpoints.json.

export interface AdminEndpoint {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  section: string;
  url: string;
  deprecated?: boolean;
}

const DOCS = 'https://element-hq.github.io/synapse/latest';
const page = {
  users: `${DOCS}/admin_api/user_admin_api.html`,
  register: `${DOCS}/admin_api/register_api.html`,
  rooms: `${DOCS}/admin_api/rooms.html`,
  membership: `${DOCS}/admin_api/room_membership.html`,
  media: `${DOCS}/admin_api/media_admin_api.html`,
  version: `${DOCS}/admin_api/version_api.html`,
  tokens: `${DOCS}/usage/administration/admin_api/registration_tokens.html`,
  notices: `${DOCS}/admin_api/server_notices.html`,
  reports: `${DOCS}/admin_api/event_reports.html`,
  purge: `${DOCS}/admin_api/purge_history_api.html`,
  event: `${DOCS}/admin_api/fetch_event.html`,
  federation: `${DOCS}/usage/administration/admin_api/federation.html`,
  background: `${DOCS}/usage/administration/admin_api/background_updates.html`,
  statistics: `${DOCS}/admin_api/statistics.html`,
  validity: `${DOCS}/admin_api/account_validity.html`,
  experimental: `${DOCS}/admin_api/experimental_features.html`,
  tasks: `${DOCS}/admin_api/scheduled_tasks.html`,
};

type Row = [AdminEndpoint['method'], string, boolean?];

function group(section: string, url: string, rows: Row[]): AdminEndpoint[] {
  return rows.map(([method, path, deprecated]) => ({ method, path, section, url, ...(deprecated ? { deprecated } : {}) }));
}

const A = '/_synapse/admin';

export const SYNAPSE_ADMIN_ENDPOINTS: AdminEndpoint[] = [
  ...group('Server version', page.version, [['GET', `${A}/v1/server_version`]]),
  ...group('Shared-secret registration', page.register, [
    ['GET', `${A}/v1/register`],
    ['POST', `${A}/v1/register`],
  ]),
  ...group('Users', page.users, [
    ['GET', `${A}/v2/users`],
    ['GET', `${A}/v3/users`],
    ['GET', `${A}/v2/users/{userId}`],
    ['PUT', `${A}/v2/users/{userId}`],
    ['GET', `${A}/v1/whois/{userId}`],
    ['POST', `${A}/v1/deactivate/{userId}`],
    ['PUT', `${A}/v1/suspend/{userId}`],
    ['POST', `${A}/v1/reset_password/{userId}`],
    ['GET', `${A}/v1/users/{userId}/admin`],
    ['PUT', `${A}/v1/users/{userId}/admin`],
    ['GET', `${A}/v1/users/{userId}/joined_rooms`],
    ['GET', `${A}/v1/users/{userId}/memberships`],
    ['GET', `${A}/v1/users/{userId}/sent_invite_count`],
    ['GET', `${A}/v1/users/{userId}/cumulative_joined_room_count`],
    ['GET', `${A}/v1/users/{userId}/accountdata`],
    ['GET', `${A}/v1/users/{userId}/media`],
    ['DELETE', `${A}/v1/users/{userId}/media`],
    ['POST', `${A}/v1/users/{userId}/login`],
    ['POST', `${A}/v1/users/{userId}/_allow_cross_signing_replacement_without_uia`],
    ['GET', `${A}/v1/users/{userId}/pushers`],
    ['POST', `${A}/v1/users/{userId}/shadow_ban`],
    ['DELETE', `${A}/v1/users/{userId}/shadow_ban`],
    ['GET', `${A}/v1/users/{userId}/override_ratelimit`],
    ['POST', `${A}/v1/users/{userId}/override_ratelimit`],
    ['DELETE', `${A}/v1/users/{userId}/override_ratelimit`],
    ['GET', `${A}/v1/username_available`],
    ['GET', `${A}/v1/auth_providers/{provider}/users/{externalId}`],
    ['GET', `${A}/v1/threepid/{medium}/users/{address}`],
    ['POST', `${A}/v1/user/{userId}/redact`],
    ['GET', `${A}/v1/user/redact_status/{redactId}`],
  ]),
  ...group('User devices', page.users, [
    ['GET', `${A}/v2/users/{userId}/devices`],
    ['POST', `${A}/v2/users/{userId}/devices`],
    ['POST', `${A}/v2/users/{userId}/delete_devices`],
    ['GET', `${A}/v2/users/{userId}/devices/{deviceId}`],
    ['PUT', `${A}/v2/users/{userId}/devices/{deviceId}`],
    ['DELETE', `${A}/v2/users/{userId}/devices/{deviceId}`],
  ]),
  ...group('Registration tokens', page.tokens, [
    ['GET', `${A}/v1/registration_tokens`],
    ['GET', `${A}/v1/registration_tokens/{token}`],
    ['POST', `${A}/v1/registration_tokens/new`],
    ['PUT', `${A}/v1/registration_tokens/{token}`],
    ['DELETE', `${A}/v1/registration_tokens/{token}`],
  ]),
  ...group('Rooms', page.rooms, [
    ['GET', `${A}/v1/rooms`],
    ['GET', `${A}/v1/rooms/{roomId}`],
    ['GET', `${A}/v1/rooms/{roomId}/hierarchy`],
    ['GET', `${A}/v1/rooms/{roomId}/members`],
    ['GET', `${A}/v1/rooms/{roomId}/state`],
    ['GET', `${A}/v1/rooms/{roomId}/messages`],
    ['GET', `${A}/v1/rooms/{roomId}/context/{eventId}`],
    ['GET', `${A}/v1/rooms/{roomId}/timestamp_to_event`],
    ['GET', `${A}/v1/rooms/{roomId}/block`],
    ['PUT', `${A}/v1/rooms/{roomId}/block`],
    ['DELETE', `${A}/v1/rooms/{roomId}`],
    ['DELETE', `${A}/v2/rooms/{roomId}`],
    ['GET', `${A}/v2/rooms/{roomId}/delete_status`],
    ['GET', `${A}/v2/rooms/delete_status/{deleteId}`],
    ['POST', `${A}/v1/rooms/{roomIdOrAlias}/make_room_admin`],
    ['GET', `${A}/v1/rooms/{roomIdOrAlias}/forward_extremities`],
    ['DELETE', `${A}/v1/rooms/{roomIdOrAlias}/forward_extremities`],
  ]),
  ...group('Room membership', page.membership, [['POST', `${A}/v1/join/{roomIdOrAlias}`]]),
  ...group('Purge history', page.purge, [
    ['POST', `${A}/v1/purge_history/{roomId}`],
    ['POST', `${A}/v1/purge_history/{roomId}/{eventId}`],
    ['GET', `${A}/v1/purge_history_status/{purgeId}`],
  ]),
  ...group('Event reports', page.reports, [
    ['GET', `${A}/v1/event_reports`],
    ['GET', `${A}/v1/event_reports/{reportId}`],
    ['DELETE', `${A}/v1/event_reports/{reportId}`],
  ]),
  ...group('Events', page.event, [['GET', `${A}/v1/fetch_event/{eventId}`]]),
  ...group('Media', page.media, [
    ['GET', `${A}/v1/room/{roomId}/media`],
    ['GET', `${A}/v1/media/{serverName}/{mediaId}`],
    ['DELETE', `${A}/v1/media/{serverName}/{mediaId}`],
    ['POST', `${A}/v1/media/delete`],
    ['POST', `${A}/v1/media/{serverName}/delete`, true],
    ['POST', `${A}/v1/media/quarantine/{serverName}/{mediaId}`],
    ['POST', `${A}/v1/media/unquarantine/{serverName}/{mediaId}`],
    ['GET', `${A}/v1/media/quarantine_changes`],
    ['POST', `${A}/v1/room/{roomId}/media/quarantine`],
    ['POST', `${A}/v1/quarantine_media/{roomId}`, true],
    ['POST', `${A}/v1/user/{userId}/media/quarantine`],
    ['POST', `${A}/v1/media/protect/{mediaId}`],
    ['POST', `${A}/v1/media/unprotect/{mediaId}`],
    ['POST', `${A}/v1/purge_media_cache`],
  ]),
  ...group('Server notices', page.notices, [
    ['POST', `${A}/v1/send_server_notice`],
    ['PUT', `${A}/v1/send_server_notice/{txnId}`],
  ]),
  ...group('Statistics', page.statistics, [
    ['GET', `${A}/v1/statistics/users/media`],
    ['GET', `${A}/v1/statistics/database/rooms`],
  ]),
  ...group('Federation', page.federation, [
    ['GET', `${A}/v1/federation/destinations`],
    ['GET', `${A}/v1/federation/destinations/{destination}`],
    ['GET', `${A}/v1/federation/destinations/{destination}/rooms`],
    ['POST', `${A}/v1/federation/destinations/{destination}/reset_connection`],
  ]),
  ...group('Background updates', page.background, [
    ['GET', `${A}/v1/background_updates/status`],
    ['POST', `${A}/v1/background_updates/enabled`],
    ['POST', `${A}/v1/background_updates/start_job`],
  ]),
  ...group('Account validity', page.validity, [['POST', `${A}/v1/account_validity/validity`]]),
  ...group('Experimental features', page.experimental, [
    ['GET', `${A}/v1/experimental_features/{userId}`],
    ['PUT', `${A}/v1/experimental_features/{userId}`],
  ]),
  ...group('Scheduled tasks', page.tasks, [['GET', `${A}/v1/scheduled_tasks`]]),
];
