// The commented foyer.yaml that `foyer init` writes. Every option of schema.ts appears here,
// set or commented out, with a line saying what it does.

export interface TemplateValues {
  serverName: string;
  bind: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  signingKeyPath: string;
  sharedSecret: string;
  /** A freshly generated key, written commented out (encryption at rest is opt-in). */
  mediaEncryptionKey: string;
}

export function renderConfigTemplate(v: TemplateValues): string {
  const q = (s: string) => JSON.stringify(s);
  return `# Foyer homeserver configuration.
# Paths are relative to this file's folder. Durations read like 30s, 10m, 12h, 90d.

# The name in every user ID (@alice:${v.serverName}) and room alias. It cannot change later.
server_name: ${q(v.serverName)}

# The URL clients reach this server at, announced in /.well-known/matrix/client.
# public_baseurl: "https://matrix.example.org"

# Where the HTTP listener binds. Put a TLS reverse proxy in front for the internet.
listen:
  bind: ${q(v.bind)}
  port: ${v.port}

# Folder for the database (SQLite), media and other state.
data_dir: ${q(v.dataDir)}

database:
  # "sqlite:PATH" for the embedded database, or a PostgreSQL URL such as
  # "postgres://foyer:secret@127.0.0.1:5432/foyer" for production.
  url: ${q(v.databaseUrl)}
  # Connections kept open to PostgreSQL.
  pool_size: 10
  # PostgreSQL only: keep Foyer's tables in this schema (created if missing), e.g. to share one
  # database between several servers. Unset: the database's default schema.
  # schema: foyer

# The server's ed25519 signing key, in Synapse's key file format ("ed25519 <version> <seed>").
signing_key_path: ${q(v.signingKeyPath)}

registration:
  # Open self-registration. Off by default: create users with "foyer user create".
  enabled: false
  # When registration is enabled, require a token made by "foyer token create".
  requires_token: false
  # Secret for shared-secret registration (/_synapse/admin/v1/register). Keep it private.
  shared_secret: ${q(v.sharedSecret)}
  # Allow guest accounts (kind=guest).
  allow_guests: false

rooms:
  # Room version for new rooms (10, 11 or 12).
  default_version: "10"
  # Turn on encryption in new rooms: "all", "invite" (private chats only) or "off".
  encryption_by_default: "off"

# Requests allowed per second per user (or IP), and the burst allowed above that.
rate_limits:
  enabled: true
  login: { per_second: 0.17, burst_count: 3 }
  registration: { per_second: 0.17, burst_count: 3 }
  message: { per_second: 10, burst_count: 50 }
  # Media uploads (POST /upload, PUT /upload/…, /create).
  media_upload: { per_second: 1, burst_count: 20 }
  # Send-to-device requests (PUT /sendToDevice/…); each may address many devices. Encrypted
  # clients send bursts of these when they share room keys.
  to_device: { per_second: 20, burst_count: 100 }

# Lifetime of access tokens for clients that support refresh tokens; unset = no expiry.
# access_token_lifetime: 1h

# Largest JSON request body accepted, in bytes.
max_request_body_bytes: 1048576

# Served at /.well-known/matrix/client and /.well-known/matrix/server.
well_known:
  # client_base_url: "https://matrix.example.org"
  # server: "matrix.example.org:443"

# fatal, error, warn, info, debug, trace or silent. Message bodies and tokens are never logged.
log_level: info

# Registration files of application services (bridges), e.g. ["/etc/foyer/whatsapp.yaml"].
# Bridges can also be added while the server runs, without editing this file or restarting:
# "foyer appservice add FILE" (see README, "Bridges").
app_service_config_files: []

appservices:
  # How often registrations added with "foyer appservice add" are picked up by a running server.
  reload_interval: 2s
  # Retries of transactions to a bridge that is down: first wait, then doubling up to this cap.
  retry_initial: 1s
  retry_max: 5m

# Join rooms automatically when invited (as Synapse's option of the same name), so bridged
# portal rooms do not pile up as invitations. Users managed by bridges are not affected.
auto_accept_invites:
  enabled: false
  # Only invites to direct chats (is_direct).
  only_for_direct_messages: false
  # Only invites sent by users of this server.
  only_from_local_users: false

# The media repository: uploads live under <data_dir>/media (content-addressed; identical files
# are stored once), their metadata in the database.
media:
  # Largest upload accepted, in bytes (announced to clients as m.upload.size). 50 MB.
  max_upload_size: 52428800
  # Bytes of media each user may store in all (sum of their uploads); 0 = no quota. 1 GB.
  user_quota_bytes: 1073741824
  # Asynchronous uploads (POST /_matrix/media/v1/create) a user may have waiting at once.
  max_pending_uploads: 5
  # How long a media ID from /create stays usable before it expires unused.
  unused_expiration: 24h
  # Encrypt media files at rest with AES-256-GCM: someone who copies the disk cannot read them.
  # Keep the key safe and backed up — without it the media is lost. Set at most one of the two.
  # encryption_key: "${v.mediaEncryptionKey}"
  # encryption_key_file: "media.key"
  # Images with more pixels than this are not decoded for thumbnails.
  max_image_pixels: 32000000
  # The legacy unauthenticated /_matrix/media/v3/download and /thumbnail endpoints serve only
  # media created before this date (ISO 8601), like Synapse's media freeze; unset = nothing.
  # legacy_unauthenticated_before: "2024-09-01T00:00:00Z"
  url_preview:
    # Link previews: the server fetches pages users link to. Off by default.
    enabled: false
    # Ranges (CIDR) allowed although private; loopback, private and link-local addresses are
    # refused otherwise, after DNS resolution.
    ip_range_whitelist: []
    # More ranges to refuse on top of the built-in ones.
    ip_range_blacklist: []
    # Largest part of a page read, in bytes.
    max_spider_size: 2097152
    # Time allowed for fetching one page.
    timeout: 10s

# Deleting media nobody has downloaded for a while. Avatars of users and rooms are always kept.
media_retention:
  # Local uploads not downloaded for this long are deleted; unset = kept forever.
  # local_media_lifetime: 90d
  # Copies of other servers' media not used for this long are deleted; unset = kept forever.
  # remote_media_lifetime: 90d
  # How often the retention job runs.
  check_interval: 1h
`;
}
