// The `foyer` command line. Every command takes --config; failures print one line and exit 1.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, ConfigError } from './config/load.ts';
import { createApp } from './app.ts';
import { performInit, CliError } from './cli/init.ts';
import { addUserCommands } from './cli/users.ts';
import { addAppserviceCommands } from './cli/appservice.ts';
import { addMediaCommands } from './cli/media.ts';

const DEFAULT_CONFIG = './data/foyer.yaml';

const program = new Command('foyer').description('Foyer Matrix homeserver').showHelpAfterError();

program
  .command('init')
  .description('write a commented foyer.yaml, a signing key and a registration secret')
  .requiredOption('--server-name <name>', 'the server name in user IDs, e.g. example.org')
  .option('--data-dir <dir>', 'folder for the database, keys and media', './data')
  .option('--config <file>', 'where to write the config (default: <data-dir>/foyer.yaml)')
  .option('--port <n>', 'port to listen on', '8008')
  .option('--bind <addr>', 'address to bind', '127.0.0.1')
  .option('--database <url>', 'sqlite:PATH or postgres://user:pass@host:port/db')
  .action((o: { serverName: string; dataDir: string; config?: string; port: string; bind: string; database?: string }) => {
    const path = performInit({
      serverName: o.serverName,
      dataDir: o.dataDir,
      configPath: o.config ?? join(o.dataDir, 'foyer.yaml'),
      port: Number(o.port),
      bind: o.bind,
      database: o.database,
    });
    console.log(`wrote ${path}`);
  });

program
  .command('start')
  .description('run the homeserver')
  .option('--config <file>', 'config file', DEFAULT_CONFIG)
  .option('--auto-init', 'on first start, create ./data with server name localhost:8008')
  .action(async (o: { config: string; autoInit?: boolean }) => {
    if (o.autoInit && !existsSync(o.config)) {
      performInit({ serverName: 'localhost:8008', dataDir: './data', configPath: o.config, port: 8008, bind: '127.0.0.1' });
      console.log(`first start: created ${o.config}`);
    }
    const app = await createApp(loadConfig(o.config));
    const url = await app.listen();
    app.logger.info({ url, server_name: app.config.server_name }, 'Foyer is listening');
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.info({ signal }, 'shutting down');
      await app.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });

addUserCommands(program, DEFAULT_CONFIG);
addAppserviceCommands(program, DEFAULT_CONFIG);
addMediaCommands(program, DEFAULT_CONFIG);

export { program };

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CliError || err instanceof ConfigError) {
      console.error(`foyer: ${err.message}`);
    } else {
      console.error(`foyer: ${(err as Error).message ?? String(err)}`);
    }
    process.exit(1);
  }
}

await main();
