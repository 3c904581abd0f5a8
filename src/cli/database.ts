// The database of a config file, for CLI commands that work without a running server: opened
// with a small pool (the server may hold connections too), migrated so the command never meets
// an older schema, and closed whatever happens.
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { openDatabase, type Database } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { CliError } from './init.ts';

export async function withConfiguredDatabase<T>(configPath: string, fn: (database: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(configPath);
  let database: Database;
  try {
    database = await openDatabase({ url: config.database.url, schema: config.database.schema, poolSize: 2 });
  } catch (err) {
    throw new CliError(`cannot open the database: ${(err as Error).message}`);
  }
  try {
    await migrateToLatest(database);
    return await fn(database, config);
  } finally {
    await database.close();
  }
}
