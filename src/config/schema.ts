// The configuration file (foyer.yaml) as a TypeBox schema: defaults live here, once. The
// commented template written by `foyer init` is in template.ts and must name the same keys.
import Type, { type Static } from 'typebox';

const Duration = Type.Union([Type.String({ pattern: '^\\d+(ms|s|m|h|d|w|y)$' }), Type.Integer({ minimum: 0 })]);

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
  database: Type.Object({ url: Type.String(), pool_size: Type.Integer({ minimum: 1, default: 10 }) }),
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
    },
    {
      default: {
        login: { per_second: 0.17, burst_count: 3 },
        registration: { per_second: 0.17, burst_count: 3 },
        message: { per_second: 10, burst_count: 50 },
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
