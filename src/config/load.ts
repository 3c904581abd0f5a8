// Loads foyer.yaml: parse, fill defaults from the schema, validate, resolve relative paths
// against the config file's folder. Errors name the file and the offending key.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { Value } from 'typebox/value';
import { ConfigSchema, type Config } from './schema.ts';

export class ConfigError extends Error {}

/** YAML reads a section with only comments under it as null: treat that as "all defaults". */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, dropNulls(v)]));
  }
  return value;
}

export function validateConfig(raw: unknown, source: string): Config {
  const withDefaults = Value.Default(ConfigSchema, dropNulls(raw ?? {}));
  const errors = [...Value.Errors(ConfigSchema, withDefaults)];
  if (errors.length > 0) {
    const e = errors[0];
    const where = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
    throw new ConfigError(`${source}: ${where}: ${e.message}`);
  }
  return withDefaults as Config;
}

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`cannot read config file ${path} (run "foyer init" first)`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const config = validateConfig(raw, path);
  const base = dirname(resolve(path));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  config.data_dir = abs(config.data_dir);
  config.signing_key_path = abs(config.signing_key_path);
  if (config.database.url.startsWith('sqlite:') && config.database.url !== 'sqlite::memory:') {
    config.database.url = 'sqlite:' + abs(config.database.url.slice('sqlite:'.length));
  }
  config.app_service_config_files = config.app_service_config_files.map(abs);
  if (config.media.encryption_key_file !== undefined) config.media.encryption_key_file = abs(config.media.encryption_key_file);
  return config;
}
