// Drives a real Foyer with the real matrix-js-sdk (v43, ESM) in node:test.
// Two things make the SDK usable on Node 20 here: the Promise.withResolvers polyfill (imported
// first, before the SDK's modules evaluate) and silenced loggers (the SDK logs every sync at DEBUG
// through `loglevel`). No crypto is initialised, so no IndexedDB (fake-indexeddb) is needed: the
// SDK's default MemoryStore keeps everything in memory.
import './js-sdk-polyfills.ts';
import loglevel from 'loglevel';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  ClientEvent,
  createClient,
  SyncState,
  type ICreateClientOpts,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from 'matrix-js-sdk';
import type { Logger } from 'matrix-js-sdk/lib/logger.js';
import type { TestServer, TestUser } from '../harness.ts';

// --- Loggers -----------------------------------------------------------------------------------
// The SDK replaces loglevel's methodFactory at load time and every logger it creates later copies
// it (and resets itself to DEBUG), so setting a level is not enough: swap the factory for a no-op
// on the root and on every logger that already exists, then rebuild them. FOYER_TEST_SDK_LOG=1
// keeps the SDK's output for debugging.
const noop = () => {};
if (!process.env.FOYER_TEST_SDK_LOG) {
  loglevel.methodFactory = () => noop;
  for (const l of Object.values(loglevel.getLoggers())) l.methodFactory = () => noop;
  loglevel.rebuild();
}

/** Passed to each client as its own logger (most SDK code logs through the client's logger). */
const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  getChild: () => silentLogger,
};

// --- Connections -------------------------------------------------------------------------------
// Each client gets its own connection pool, destroyed when the client stops. With the shared global
// one, a connection the SDK opened for a request it then aborted (stopClient during the next
// /sync) stays open without a request; Node's server does not count such a connection as idle, so
// closing the test server waited for its headers timeout (~70 s).
const agents = new Map<MatrixClient, Agent>();

function pooledFetch(): { agent: Agent; fetchFn: typeof globalThis.fetch } {
  const agent = new Agent({ keepAliveTimeout: 5_000 });
  const fetchFn = ((input: any, init?: any) => undiciFetch(input, { ...init, dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return { agent, fetchFn };
}

// --- Clients -----------------------------------------------------------------------------------

export interface SdkClientOptions {
  /** timeline limit of the first /sync (the SDK's default is 8). */
  initialSyncLimit?: number;
  /** long-poll timeout the sync loop asks for (the SDK's default is 30 s). */
  pollTimeout?: number;
}

/** A client bound to the user's existing access token, not started. `extra`: more createClient options. */
export function sdkClientFor(server: TestServer, user: Pick<TestUser, 'userId' | 'accessToken' | 'deviceId'>, extra: Partial<ICreateClientOpts> = {}): MatrixClient {
  const { agent, fetchFn } = pooledFetch();
  const client = createClient({
    baseUrl: server.baseUrl,
    userId: user.userId,
    accessToken: user.accessToken,
    deviceId: user.deviceId,
    logger: process.env.FOYER_TEST_SDK_LOG ? undefined : silentLogger,
    timelineSupport: true,
    fetchFn,
    ...extra,
  });
  agents.set(client, agent);
  return client;
}

/** A client with no credentials (for /register and /login). */
export function anonymousSdkClient(server: TestServer): MatrixClient {
  const { agent, fetchFn } = pooledFetch();
  const client = createClient({ baseUrl: server.baseUrl, logger: process.env.FOYER_TEST_SDK_LOG ? undefined : silentLogger, fetchFn });
  agents.set(client, agent);
  return client;
}

/**
 * Starts the SDK's sync loop and resolves once the first /sync was processed (SyncState.Prepared).
 * Rejects if the loop reports an error first (an answer the SDK could not use).
 */
export async function startSdkClient(client: MatrixClient, opts: SdkClientOptions = {}, timeoutMs = 15_000): Promise<MatrixClient> {
  const ready = new Promise<void>((resolve, reject) => {
    const onSync = (state: SyncState, _prev: SyncState | null, data?: { error?: Error }) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === SyncState.Error) {
        client.off(ClientEvent.Sync, onSync);
        reject(new Error(`SDK sync failed: ${data?.error?.message ?? 'unknown error'}`));
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: opts.initialSyncLimit ?? 8, pollTimeout: opts.pollTimeout ?? 30_000, lazyLoadMembers: false });
  await withTimeout(ready, timeoutMs, 'SDK client did not finish its first sync');
  return client;
}

/**
 * Stops the sync loop and its timers, aborts the pending long-poll and closes the client's
 * connections, so neither the server's shutdown nor the test process waits on them.
 */
export async function stopSdkClient(client: MatrixClient | undefined): Promise<void> {
  if (!client) return;
  client.stopClient();
  client.http.abort();
  client.removeAllListeners();
  const agent = agents.get(client);
  agents.delete(client);
  await agent?.destroy();
}

/** Stops every client this module created (started or not): call it before the server closes. */
export async function stopAllSdkClients(): Promise<void> {
  await Promise.all([...agents.keys()].map((c) => stopSdkClient(c)));
}

// --- Waiting on the SDK's models ---------------------------------------------------------------

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves when `check()` returns a value other than undefined/false. It is re-checked after every
 * event the client emits that can change rooms or timelines (and once immediately), so the test
 * waits on what the SDK's models show, not on a sleep.
 */
export function waitForClient<T>(client: MatrixClient, check: () => T | undefined | false | null, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const events = ['Room.timeline', 'Room.redaction', 'Room.myMembership', 'Room', 'RoomMember.membership', 'RoomState.events', 'sync', 'Room.name', 'MatrixEvent.replaced', 'Event.replaced'];
  return waitOnEvents(client, events, check, timeoutMs, what);
}

/** Resolves when `check()` returns something truthy, re-checked on each of `events` (and once now). */
export function waitOnEvents<T>(client: MatrixClient, events: readonly string[], check: () => T | undefined | false | null, timeoutMs: number, what: string): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => {
      const recheck = () => {
        const v = check();
        if (v !== undefined && v !== false && v !== null) {
          for (const e of events) client.off(e as any, recheck);
          resolve(v);
        }
      };
      for (const e of events) client.on(e as any, recheck);
      recheck();
    }),
    timeoutMs,
    `timed out waiting for ${what}`,
  );
}

/** The room's live timeline as the SDK shows it. */
export function liveEvents(room: Room): MatrixEvent[] {
  return room.getLiveTimeline().getEvents();
}
