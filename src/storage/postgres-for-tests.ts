// The PostgreSQL the storage unit tests use, and whether it answers (tests skip themselves
// when it does not; the API tests use test/harness.ts instead).
import pg from 'pg';

export const POSTGRES_URL = process.env.FOYER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}
