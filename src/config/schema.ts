// The configuration file (foyer.yaml) as a TypeBox schema: defaults live here, once. The
// commented template written by `foyer init` is in template.ts and must name the same keys.
import Type, { type Static } from 'typebox';

const Duration = Type.Union([Type.String({ pattern: '^\\d+(ms|s|m|h|d|w|y)$' }), Type.Integer({ minimum: 0 })]);
const DurationDefault = (value: string) => Type.Union([Type.String({ pattern: '^\\d+(ms|s|m|h|d|w|y)$' }), Type.Integer({ minimum: 0 })], { default: value });

const RateLimit = Type.Object({
  per_second: Type.Number({ minimum: 0 }),
  burst_count: Type.Integer({ minimum: 1 }),
});

export const ConfigSchema = Type.Object({
  server_name: Type.String({ minLength: 1 }),
  /** Public base URL of the client API, announced in /.well-known/matrix/client. */
  public_baseurl: Type.Optional(Type.String()),
  listen: Type.Object(
    { bind: Type.String({ default: '127.0.0.1' }), port: Type.Integer({ minimum: 0, maximum: 65535, default: 8008 }) },
    { default: {} },
  ),
  data_dir: Type.String({ default: './data' }),
  database: Type.Object({
    url: Type.String(),
    pool_size: Type.Integer({ minimum: 1, default: 10 }),
    /** PostgreSQL only: the schema Foyer's tables live in (created if missing); unset = the default search path. */
    schema: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]*$' })),
  }),
  signing_key_path: Type.String(),
  registration: Type.Object(
    {
      enabled: Type.Boolean({ default: false }),
      requires_token: Type.Boolean({ default: false }),
      shared_secret: Type.Optional(Type.String()),
      allow_guests: Type.Boolean({ default: false }),
    },
    { default: {} },
  ),
  rooms: Type.Object(
    {
      default_version: Type.String({ default: '10' }),
      /** Presets whose new rooms get m.room.encryption by default: "all", "invite" (private), "off". */
      encryption_by_default: Type.Union([Type.Literal('all'), Type.Literal('invite'), Type.Literal('off')], { default: 'off' }),
    },
    { default: {} },
  ),
  rate_limits: Type.Object(
    {
      enabled: Type.Boolean({ default: true }),
      login: RateLimit,
      registration: RateLimit,
      message: RateLimit,
      /** Media uploads (POST /upload, PUT /upload/{serverName}/{mediaId}, /create). */
      media_upload: Type.Object({ ...RateLimit.properties }, { default: { per_second: 1, burst_count: 20 } }),
      /** PUT /sendToDevice: one request may address many devices, so requests are what is counted. */
      to_device: Type.Object({ ...RateLimit.properties }, { default: { per_second: 20, burst_count: 100 } }),
    },
    {
      default: {
        login: { per_second: 0.17, burst_count: 3 },
        registration: { per_second: 0.17, burst_count: 3 },
        message: { per_second: 10, burst_count: 50 },
        media_upload: { per_second: 1, burst_count: 20 },
        to_device: { per_second: 20, burst_count: 100 },
      },
    },
  ),
  access_token_lifetime: Type.Optional(Duration),
  max_request_body_bytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
  well_known: Type.Object(
    { client_base_url: Type.Optional(Type.String()), server: Type.Optional(Type.String()) },
    { default: {} },
  ),
  log_level: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  app_service_config_files: Type.Array(Type.String(), { default: [] }),
  /** Application services: how often run-time registrations are re-read, transaction retries. */
  appservices: Type.Object(
    {
      reload_interval: Type.Union(Duration.anyOf, { default: '2s' }),
      retry_initial: Type.Union(Duration.anyOf, { default: '1s' }),
      retry_max: Type.Union(Duration.anyOf, { default: '5m' }),
    },
    { default: {} },
  ),
  /** Synapse's auto_accept_invites (worker_to_run_on is accepted and ignored: one process). */
  auto_accept_invites: Type.Object(
    {
      enabled: Type.Boolean({ default: false }),
      only_for_direct_messages: Type.Boolean({ default: false }),
      only_from_local_users: Type.Boolean({ default: false }),
      worker_to_run_on: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    },
    { default: {} },
  ),
  /** The content repository (uploads, downloads, thumbnails); see services/media/README.md. */
  media: Type.Object(
    {
      /** Largest upload accepted, in bytes. */
      max_upload_size: Type.Integer({ minimum: 1, default: 52_428_800 }),
      /** Bytes of media one user may store (sum of their uploads); 0 = no quota. */
      user_quota_bytes: Type.Integer({ minimum: 0, default: 1_073_741_824 }),
      /** Asynchronous uploads (/create) a user may have pending at once (Synapse: 5). */
      max_pending_uploads: Type.Integer({ minimum: 1, default: 5 }),
      /** How long an unused /create media ID stays valid. */
      unused_expiration: DurationDefault('24h'),
      /** Base64 of 32 random bytes: AES-256-GCM encryption of media files at rest. */
      encryption_key: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/_-]{43}=?$' })),
      /** Or a file holding that base64 key. */
      encryption_key_file: Type.Optional(Type.String()),
      /** Images larger than this many pixels are not decoded for thumbnails. */
      max_image_pixels: Type.Integer({ minimum: 1, default: 32_000_000 }),
      /** Media created before this date (ISO 8601) stay downloadable on the legacy unauthenticated endpoints. */
      legacy_unauthenticated_before: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}' })),
      url_preview: Type.Object(
        {
          enabled: Type.Boolean({ default: false }),
          /** CIDR ranges allowed even though they are private (tests, intranets). */
          ip_range_whitelist: Type.Array(Type.String(), { default: [] }),
          /** CIDR ranges refused on top of the built-in private, loopback and link-local ones. */
          ip_range_blacklist: Type.Array(Type.String(), { default: [] }),
          /** Largest page read, in bytes. */
          max_spider_size: Type.Integer({ minimum: 1024, default: 2_097_152 }),
          /** Time allowed for fetching one page. */
          timeout: DurationDefault('10s'),
        },
        { default: {} },
      ),
    },
    { default: {} },
  ),
  media_retention: Type.Object(
    {
      /** Local media not downloaded for this long is deleted (users' and rooms' avatars excepted); unset = kept. */
      local_media_lifetime: Type.Optional(Duration),
      /** Cached remote media not accessed for this long is deleted; unset = kept. */
      remote_media_lifetime: Type.Optional(Duration),
      /** How often the retention job runs. */
      check_interval: DurationDefault('1h'),
    },
    { default: {} },
  ),
});

export type Config = Static<typeof ConfigSchema>;

/** Parses "10s", "5m", "90d" or a number of milliseconds. */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(value);
  if (!m) throw new Error(`invalid duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}
