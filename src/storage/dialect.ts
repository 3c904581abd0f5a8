// The few places where SQLite and PostgreSQL need different SQL. Everything else is written once.
import type { ColumnDefinitionBuilder, CreateTableBuilder } from 'kysely';
import type { Engine } from './database.ts';

/** Adds an auto-incrementing integer primary key column. */
export function addAutoIdColumn<T extends string>(
  table: CreateTableBuilder<T, never>,
  engine: Engine,
  name = 'id',
): CreateTableBuilder<T, never> {
  return engine === 'sqlite'
    ? table.addColumn(name, 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement())
    : table.addColumn(name, 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey());
}

/** Column type for raw bytes. */
export function blobType(engine: Engine): 'blob' | 'bytea' {
  return engine === 'sqlite' ? 'blob' : 'bytea';
}
