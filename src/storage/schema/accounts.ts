// Account tables: users, devices, tokens, user-interactive auth sessions, registration tokens
// and shared-secret registration nonces. Created by 0001_meta_accounts and 0002_accounts_auth.
import type { Generated } from 'kysely';

export interface AccountTables {
  users: {
    user_id: string;
    /** argon2id (or a bcrypt hash imported from Synapse); null = no password login. */
    password_hash: string | null;
    created_ts: number;
    /** 1 = server admin: the admin API (/_synapse/admin) is open to this user. */
    is_admin: number;
    is_guest: number;
    deactivated: number;
    /** Set for users registered by an appservice. */
    appservice_id: string | null;
    displayname: string | null;
    avatar_url: string | null;
    /** 1 when deactivated with erase=true (GDPR erasure: their events are served redacted). */
    erased: Generated<number>;
    /** Synapse's user types: null (regular), "bot", "support". */
    user_type: Generated<string | null>;
  };
  /** Profile fields other than displayname/avatar_url (spec v1.16 extended profiles, m.tz…). */
  profile_fields: {
    user_id: string;
    field: string;
    /** The field's JSON value, as text. */
    value_json: string;
  };
  devices: {
    user_id: string;
    device_id: string;
    display_name: string | null;
    last_seen_ts: number | null;
    last_seen_ip: string | null;
    created_ts: number;
  };
  access_tokens: {
    id: Generated<number>;
    /** sha256 of the token, hex: tokens are never stored in clear. */
    token_hash: string;
    user_id: string;
    device_id: string;
    /** ms timestamp after which the token is refused (refreshable tokens); null = never. */
    expires_ts: number | null;
    /** Refresh token that minted this access token, if any. */
    refresh_token_id: number | null;
    created_ts: number;
    /** Last time a request used this token (written at most once a minute); null = never used. */
    last_used_ts: Generated<number | null>;
  };
  refresh_tokens: {
    id: Generated<number>;
    token_hash: string;
    user_id: string;
    device_id: string;
    /** The refresh token issued in exchange for this one (it stays valid until that one is used). */
    next_token_id: number | null;
    created_ts: number;
  };
  /** User-interactive auth sessions, bound to the request (method, path, body) that opened them. */
  uia_sessions: {
    session_id: string;
    method: string;
    path: string;
    /** sha256 of the canonical request body without `auth` and secrets; null when the body may change (register). */
    body_hash: string | null;
    /** The request body (without `auth` and without passwords) last seen, JSON; /register falls back to it. */
    client_dict: string;
    /** The user the session authenticates; null for registration. */
    user_id: string | null;
    /** JSON array of completed stage types, in order. */
    completed: string;
    /** JSON object of facts stages recorded (e.g. the registration token to consume). */
    data: string;
    created_ts: number;
    expires_ts: number;
  };
  /** Tokens for m.login.registration_token (Synapse-compatible semantics). */
  registration_tokens: {
    /** Kept in clear: admins list and hand them out (Synapse's admin API returns them). */
    token: string;
    /** null = unlimited. */
    uses_allowed: number | null;
    /** UIA sessions that passed this token but have not finished registering yet. */
    pending: number;
    completed: number;
    /** ms timestamp; null = never expires. */
    expiry_time: number | null;
    created_ts: number;
  };
  /** Single-use nonces for /_synapse/admin/v1/register. */
  registration_nonces: {
    nonce: string;
    expires_ts: number;
  };
}
