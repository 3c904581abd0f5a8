// Profiles (spec "Profiles", v1.16 with extended fields): displayname and avatar_url live on
// the users row (rooms read them for member events); m.tz and custom namespaced fields live in
// profile_fields. Only the owner writes their profile; the whole profile stays under 64 KiB.
import { MatrixError } from '../../core/errors.ts';
import { isValidUserId, serverNameOf } from '../../core/ids.ts';
import type { UserStore } from '../../storage/stores/users.ts';

export const MAX_DISPLAYNAME_LENGTH = 256;
export const MAX_AVATAR_URL_LENGTH = 1000;
export const MAX_PROFILE_BYTES = 64 * 1024;
export const MAX_KEY_BYTES = 255;
/** The key grammar of the spec's /profile/{userId}/{keyName}. */
export const PROFILE_KEY_PATTERN = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;
const MXC_URI = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;

export interface ProfileServiceDeps {
  serverName: string;
  users: Pick<UserStore, 'get' | 'setProfile' | 'profileFields' | 'setProfileField' | 'deleteProfileField'>;
  /** Remote profiles over federation, once it exists; without it, remote users are 404. */
  queryRemoteProfile?: (userId: string, field?: string) => Promise<Record<string, unknown>>;
  /** displayname/avatar_url changed: rooms send new member events. */
  onProfileChanged?: (userId: string) => Promise<void>;
}

export class ProfileService {
  constructor(private readonly deps: ProfileServiceDeps) {}

  /** GET /profile/{userId}: the whole profile, fields that are unset left out. */
  async getProfile(userId: string): Promise<Record<string, unknown>> {
    if (!isValidUserId(userId)) throw new MatrixError('M_INVALID_PARAM', 'Invalid user ID');
    if (serverNameOf(userId) !== this.deps.serverName) {
      if (this.deps.queryRemoteProfile) return this.deps.queryRemoteProfile(userId);
      throw new MatrixError('M_NOT_FOUND', 'Profile not found');
    }
    const user = await this.deps.users.get(userId);
    if (!user) throw new MatrixError('M_NOT_FOUND', 'Profile not found');
    const out: Record<string, unknown> = await this.deps.users.profileFields(userId);
    if (user.displayname !== null) out.displayname = user.displayname;
    if (user.avatar_url !== null) out.avatar_url = user.avatar_url;
    return out;
  }

  /** GET /profile/{userId}/{keyName}: 404 when the user or the field does not exist. */
  async getField(userId: string, key: string): Promise<Record<string, unknown>> {
    checkKey(key);
    if (serverNameOf(userId) !== this.deps.serverName && this.deps.queryRemoteProfile && isValidUserId(userId)) {
      const remote = await this.deps.queryRemoteProfile(userId, key);
      if (!(key in remote)) throw new MatrixError('M_NOT_FOUND', 'Profile field not found');
      return { [key]: remote[key] };
    }
    const profile = await this.getProfile(userId);
    if (!(key in profile)) throw new MatrixError('M_NOT_FOUND', 'Profile field not found');
    return { [key]: profile[key] };
  }

  /** PUT /profile/{userId}/{keyName}. */
  async setField(requesterId: string, userId: string, key: string, body: Record<string, unknown>): Promise<void> {
    checkKey(key);
    await this.checkOwner(requesterId, userId);
    if (!(key in body)) throw new MatrixError('M_MISSING_PARAM', `Missing key '${key}'`);
    const value = body[key];
    if (key === 'displayname') {
      if (typeof value !== 'string') throw new MatrixError('M_BAD_JSON', 'displayname must be a string');
      if (value.length > MAX_DISPLAYNAME_LENGTH) throw new MatrixError('M_TOO_LARGE', `displayname is too long (max ${MAX_DISPLAYNAME_LENGTH})`, {}, 400);
      // An empty name clears it, as Synapse does.
      await this.deps.users.setProfile(userId, { displayname: value === '' ? null : value });
      await this.deps.onProfileChanged?.(userId);
      return;
    }
    if (key === 'avatar_url') {
      if (typeof value !== 'string') throw new MatrixError('M_BAD_JSON', 'avatar_url must be a string');
      if (value.length > MAX_AVATAR_URL_LENGTH) throw new MatrixError('M_TOO_LARGE', `avatar_url is too long (max ${MAX_AVATAR_URL_LENGTH})`, {}, 400);
      if (value !== '' && !MXC_URI.test(value)) throw new MatrixError('M_INVALID_PARAM', 'avatar_url must be an mxc:// URI');
      await this.deps.users.setProfile(userId, { avatar_url: value === '' ? null : value });
      await this.deps.onProfileChanged?.(userId);
      return;
    }
    if (key === 'm.tz' && typeof value !== 'string') throw new MatrixError('M_BAD_JSON', 'm.tz must be a string');
    const current = await this.getProfile(userId);
    current[key] = value;
    if (Buffer.byteLength(JSON.stringify(current), 'utf8') > MAX_PROFILE_BYTES) {
      throw new MatrixError('M_PROFILE_TOO_LARGE', 'The profile would exceed 64 KiB');
    }
    await this.deps.users.setProfileField(userId, key, value);
  }

  /** DELETE /profile/{userId}/{keyName}: succeeds whether or not the field existed. */
  async deleteField(requesterId: string, userId: string, key: string): Promise<void> {
    checkKey(key);
    await this.checkOwner(requesterId, userId);
    if (key === 'displayname' || key === 'avatar_url') {
      await this.deps.users.setProfile(userId, { [key]: null });
      await this.deps.onProfileChanged?.(userId);
      return;
    }
    await this.deps.users.deleteProfileField(userId, key);
  }

  private async checkOwner(requesterId: string, userId: string): Promise<void> {
    if (requesterId !== userId) throw new MatrixError('M_FORBIDDEN', "Cannot change another user's profile");
  }
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new MatrixError('M_KEY_TOO_LARGE', `Profile keys are at most ${MAX_KEY_BYTES} bytes`);
  if (!PROFILE_KEY_PATTERN.test(key)) throw new MatrixError('M_INVALID_PARAM', 'Invalid profile key');
}
