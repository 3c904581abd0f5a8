// POST /user_directory/search (client-server "User directory").
//
// Who can be found: users joined to a room the searcher is joined to, and users joined to any
// room whose join rule is public or whose history is world_readable (the minimum the spec
// asks for). Deactivated local users are left out. Matching is case-insensitive, by word
// prefix: every word of the search term must start a word of the user's localpart or display
// name (or the term is the start of the full user ID, "@ali" → "@alice:example.org").
//
// Names: a local user's global profile; for remote users, the display name and avatar of
// their most recent membership event in a visible room. All of this is read from
// room_current_state and users on each search — fine for a self-hosted community's size.
import type { UserDirectoryStore } from '../../storage/stores/user-directory.ts';

export interface DirectoryUser {
  user_id: string;
  display_name?: string;
  avatar_url?: string;
}

export interface DirectoryResults {
  results: DirectoryUser[];
  limited: boolean;
}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
export const DEFAULT_DIRECTORY_LIMIT = 10;
const MAX_LIMIT = 100;

interface Candidate {
  userId: string;
  displayName: string | null;
  avatarUrl: string | null;
  local: boolean;
}

export class UserDirectory {
  constructor(
    private readonly deps: {
      store: Pick<UserDirectoryStore, 'joinedRoomsOf' | 'opennessEvents' | 'joinedMembersWithProfiles'>;
      serverName: string;
    },
  ) {}

  async search(searcherId: string, term: string, limit: number = DEFAULT_DIRECTORY_LIMIT): Promise<DirectoryResults> {
    limit = Math.min(Math.max(limit, 0), MAX_LIMIT);
    const normalized = term.normalize('NFC').toLowerCase().trim();
    const words = [...normalized.matchAll(WORD)].map((m) => m[0]);
    if (words.length === 0 && !normalized.startsWith('@')) return { results: [], limited: false };

    const matched: Array<Candidate & { score: number }> = [];
    for (const c of await this.candidates(searcherId)) {
      const score = scoreOf(c, normalized, words);
      if (score > 0) matched.push({ ...c, score });
    }
    // Best match first, then users with profile info, then by ID (stable pages).
    matched.sort(
      (a, b) =>
        b.score - a.score ||
        Number(b.displayName !== null) + Number(b.avatarUrl !== null) - (Number(a.displayName !== null) + Number(a.avatarUrl !== null)) ||
        (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0),
    );
    const results = matched.slice(0, limit).map((c) => {
      const out: DirectoryUser = { user_id: c.userId };
      if (c.displayName !== null) out.display_name = c.displayName;
      if (c.avatarUrl !== null) out.avatar_url = c.avatarUrl;
      return out;
    });
    return { results, limited: matched.length > limit };
  }

  /** Everyone the searcher may find, with the profile to show for them. */
  private async candidates(searcherId: string): Promise<Candidate[]> {
    const { store } = this.deps;
    const visibleRooms = new Set<string>(await store.joinedRoomsOf(searcherId));
    // Public rooms: the content of their join rules / history visibility decides.
    for (const row of await store.opennessEvents()) {
      const content = contentOf(row.json);
      if (row.type === 'm.room.join_rules' ? content.join_rule === 'public' : content.history_visibility === 'world_readable') visibleRooms.add(row.room_id);
    }
    if (visibleRooms.size === 0) return [];

    const byUser = new Map<string, Candidate & { pos?: number }>();
    for (const m of await store.joinedMembersWithProfiles([...visibleRooms])) {
      if (m.local_id !== null) {
        if (m.deactivated) continue;
        byUser.set(m.user_id, { userId: m.user_id, displayName: m.displayname, avatarUrl: m.avatar_url, local: true });
        continue;
      }
      // A remote user: the newest membership event names them.
      const seen = byUser.get(m.user_id);
      const pos = Number(m.stream_pos ?? 0);
      if (seen && (seen.pos ?? 0) >= pos) continue;
      const content = contentOf(m.json);
      byUser.set(m.user_id, {
        userId: m.user_id,
        displayName: typeof content.displayname === 'string' ? content.displayname : null,
        avatarUrl: typeof content.avatar_url === 'string' ? content.avatar_url : null,
        local: false,
        pos,
      });
    }
    return [...byUser.values()].map(({ userId, displayName, avatarUrl, local }) => ({ userId, displayName, avatarUrl, local }));
  }
}

/**
 * 0 = no match. Otherwise higher is better: an exact name or localpart beats word prefixes.
 * Every search word must start some word of the localpart or display name.
 */
function scoreOf(c: Candidate, term: string, words: string[]): number {
  const userId = c.userId.toLowerCase();
  const localpart = userId.slice(1, userId.includes(':') ? userId.indexOf(':') : undefined);
  const name = c.displayName?.normalize('NFC').toLowerCase() ?? '';
  if (term.startsWith('@')) {
    // A user ID, or the start of one.
    if (userId === term) return 4;
    if (userId.startsWith(term)) return 3;
  }
  if (words.length === 0) return 0;
  const targets = [...[localpart, name].flatMap((s) => [...s.matchAll(WORD)].map((m) => m[0])), localpart];
  if (!words.every((w) => targets.some((t) => t.startsWith(w)))) return 0;
  const joined = words.join(' ');
  if (localpart === joined || name === term) return 3;
  if (localpart.startsWith(joined) || name.startsWith(term)) return 2;
  return 1;
}

function contentOf(json: string): Record<string, unknown> {
  try {
    const content = (JSON.parse(json) as { content?: unknown }).content;
    return content && typeof content === 'object' ? (content as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
