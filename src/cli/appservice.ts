// `foyer appservice add FILE | list | remove ID | status`: managing bridges from the shell.
// The commands work on the database named by the config, with the same validation as start-up
// (against the registrations of app_service_config_files and those already added). A running
// server re-reads the added registrations every `appservices.reload_interval` (2 s by default):
// add and remove take effect without a restart, also when Foyer runs as several processes.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import type { Command } from 'commander';
import type { Config } from '../config/schema.ts';
import type { Database } from '../storage/database.ts';
import { AppserviceStore } from '../storage/stores/appservices.ts';
import { AppserviceRegistry } from '../services/appservice/registry.ts';
import { AppserviceClient } from '../services/appservice/client.ts';
import { AppserviceQueries } from '../services/appservice/queries.ts';
import { AppserviceOperations, type AppserviceStatus } from '../services/appservice/operations.ts';
import { RegistrationError } from '../services/appservice/registration.ts';
import { MatrixError } from '../core/errors.ts';
import { CliError } from './init.ts';
import { withConfiguredDatabase } from './database.ts';

/** The operations over an open database (tests pass their own). */
export async function appserviceOperationsFor(database: Database, config: Pick<Config, 'server_name' | 'app_service_config_files'>): Promise<AppserviceOperations> {
  const store = new AppserviceStore(database.db);
  const registry = new AppserviceRegistry({
    serverName: config.server_name,
    configFiles: config.app_service_config_files,
    store,
    logger: pino({ level: 'silent' }),
  });
  await registry.load();
  const queries = new AppserviceQueries({ registrations: () => registry.all(), client: new AppserviceClient() });
  return new AppserviceOperations({ registry, store, queries });
}

async function withOperations<T>(configPath: string, fn: (ops: AppserviceOperations) => Promise<T>): Promise<T> {
  return withConfiguredDatabase(configPath, async (database, config) => {
    try {
      return await fn(await appserviceOperationsFor(database, config));
    } catch (err) {
      if (err instanceof RegistrationError || err instanceof MatrixError) throw new CliError(err.message);
      throw err;
    }
  });
}

const when = (ts: number | null) => (ts === null ? 'never' : new Date(ts).toISOString());

export function describeStatus(s: AppserviceStatus): string {
  const reach = s.reachable === null ? 'not checked' : s.reachable ? `reachable (${s.ping_ms} ms)` : `UNREACHABLE: ${s.ping_error}`;
  return [
    `${s.id}\t${s.url ?? '(no url)'}\t${s.sender}\t[${s.source}]`,
    `  ${reach}`,
    `  last successful transaction: ${when(s.last_success_ts)}`,
    `  backlog: ${s.pending_transactions} transaction(s) pending, up to ${s.backlog_events} event(s)`,
    `  last error: ${s.last_error ? `${s.last_error} at ${when(s.last_error_ts)}` : 'none'}`,
  ].join('\n');
}

export function addAppserviceCommands(program: Command, defaultConfig: string): void {
  const cmd = program.command('appservice').description('manage application services (bridges) without restarting the server');

  cmd
    .command('add <file>')
    .description('register a bridge from its registration YAML (the running server picks it up within seconds)')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (file: string, o: { config: string }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new CliError(`cannot read ${file}`);
      }
      const reg = await withOperations(o.config, async (ops) => {
        try {
          return await ops.add(text);
        } catch (err) {
          if (err instanceof RegistrationError) throw new CliError(`${file}: ${err.message.replace(/^database: /, '')}`);
          throw err;
        }
      });
      console.log(`added appservice ${reg.id} (sender ${reg.senderUserId})`);
    });

  cmd
    .command('list')
    .description('list registered bridges')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (o: { config: string }) => {
      const all = await withOperations(o.config, (ops) => ops.list({ ping: false }));
      for (const s of all) console.log(`${s.id}\t${s.url ?? '(no url)'}\t${s.sender}\t[${s.source}]`);
    });

  cmd
    .command('remove <id>')
    .description('remove a bridge added with "appservice add"')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (id: string, o: { config: string }) => {
      await withOperations(o.config, (ops) => ops.remove(id));
      console.log(`removed appservice ${id}`);
    });

  cmd
    .command('status [id]')
    .description('per bridge: reachable (ping), last successful transaction, backlog, last error')
    .option('--config <file>', 'config file', defaultConfig)
    .action(async (id: string | undefined, o: { config: string }) => {
      const all = await withOperations(o.config, async (ops) => (id ? [await ops.status(id, { ping: true })] : ops.list({ ping: true })));
      if (all.length === 0) console.log('no appservices registered');
      for (const s of all) console.log(describeStatus(s));
    });
}
