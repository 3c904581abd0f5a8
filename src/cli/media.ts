// `foyer media …`: media administration from the shell, without a running server — list a
// user's media, delete by mxc URI, by user or by date, quarantine. Same stores and services as
// the admin API (services/media/media-admin.ts), so files are released the same way.
import type { Command } from 'commander';
import { join } from 'node:path';
import { mediaEncryptionKey } from '../config/media-key.ts';
import { MediaStore } from '../storage/stores/media.ts';
import { MediaFiles } from '../storage/media-files.ts';
import { MediaDeletion, MediaRetention } from '../services/media/retention.ts';
import { durationMs } from '../config/schema.ts';
import pino from 'pino';
import { MediaAdmin } from '../services/media/media-admin.ts';
import { KeyedQueue } from '../util/keyed-queue.ts';
import { CliError } from './init.ts';
import { withConfiguredDatabase } from './database.ts';

interface CliMedia {
  serverName: string;
  admin: MediaAdmin;
  retention: MediaRetention;
}

async function withMedia<T>(configPath: string, fn: (m: CliMedia) => Promise<T>): Promise<T> {
  return withConfiguredDatabase(configPath, async (database, config) => {
    const store = new MediaStore(database.db);
    const files = new MediaFiles(join(config.data_dir, 'media'), mediaEncryptionKey(config.media));
    const deletion = new MediaDeletion({ serverName: config.server_name, store, files, fileLocks: new KeyedQueue() });
    const lifetime = (value: string | number | undefined) => (value === undefined ? null : durationMs(value));
    const retention = new MediaRetention({
      deletion,
      logger: pino({ level: 'silent' }),
      settings: {
        localLifetimeMs: lifetime(config.media_retention.local_media_lifetime),
        remoteLifetimeMs: lifetime(config.media_retention.remote_media_lifetime),
      },
    });
    return fn({ serverName: config.server_name, admin: new MediaAdmin({ serverName: config.server_name, store, deletion }), retention });
  });
}

/** "mxc://server/id" → [server, id]. */
export function parseMxc(value: string): [string, string] {
  const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(value);
  if (!m) throw new CliError(`not an mxc URI: ${value}`);
  return [m[1], m[2]];
}

function userIdArg(value: string, serverName: string): string {
  return value.startsWith('@') ? value : `@${value}:${serverName}`;
}

export function addMediaCommands(program: Command, defaultConfig: string): void {
  const media = program.command('media').description('manage uploaded media');

  media
    .command('list <userId>')
    .description("list a user's uploads: mxc URI, size, type, upload date, quarantine")
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (userId: string, o: { config: string }) => {
      await withMedia(o.config, async (m) => {
        const id = userIdArg(userId, m.serverName);
        const { media: items } = await m.admin.listUserMedia(id, { from: 0, limit: 1_000_000, orderBy: 'created_ts', dir: 'f' });
        for (const item of items) {
          const flags = item.quarantined_by ? `\tquarantined by ${item.quarantined_by}` : '';
          console.log(`mxc://${m.serverName}/${item.media_id}\t${item.media_length}\t${item.media_type ?? '-'}\t${new Date(item.created_ts).toISOString()}${flags}`);
        }
      });
    });

  media
    .command('delete [mxc]')
    .description('delete one media item (mxc URI), every upload of a user (--user), or media unused since a date (--before)')
    .option('--user <userId>', "delete all of this user's media")
    .option('--before <date>', 'delete media last used before this ISO date (avatars are kept)')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (mxc: string | undefined, o: { user?: string; before?: string; config: string }) => {
      const chosen = [mxc !== undefined, o.user !== undefined, o.before !== undefined].filter(Boolean).length;
      if (chosen !== 1) throw new CliError('give exactly one of: an mxc URI, --user USER_ID, --before DATE');
      const deleted = await withMedia(o.config, async (m) => {
        if (mxc !== undefined) {
          const [server, id] = parseMxc(mxc);
          return (await m.admin.deleteMedia(server, id)).deleted_media;
        }
        if (o.user !== undefined) return (await m.admin.deleteUserMedia(userIdArg(o.user, m.serverName))).deleted_media;
        const ts = Date.parse(o.before!);
        if (Number.isNaN(ts)) throw new CliError(`--before takes an ISO date, not "${o.before}"`);
        return (await m.admin.deleteOlderThan(ts, 0, true)).deleted_media;
      });
      console.log(`deleted ${deleted.length} media item${deleted.length === 1 ? '' : 's'}`);
    });

  media
    .command('retention')
    .description('run the media retention job once now (media_retention in the config)')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (o: { config: string }) => {
      const result = await withMedia(o.config, (m) => m.retention.run());
      console.log(`deleted ${result.local} local, ${result.remote} remote and ${result.expiredPending} expired pending media items`);
    });

  media
    .command('quarantine <mxc>')
    .description('stop serving a media item (kept on disk; --undo serves it again)')
    .option('--undo', 'release it from quarantine')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (mxc: string, o: { undo?: boolean; config: string }) => {
      const [server, id] = parseMxc(mxc);
      await withMedia(o.config, (m) => m.admin.setQuarantine(server, id, o.undo ? null : 'foyer-cli'));
      console.log(o.undo ? `released ${mxc}` : `quarantined ${mxc}`);
    });
}
