// Appservice room directories (application service API "Room directories") over HTTP on both
// databases: a bridge lists rooms per network with its as_token; /publicRooms shows them for
// that network's third_party_instance_id, or with include_all_networks, never in the server's
// own directory; users cannot edit a bridge's list.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachDatabase } from './harness.ts';
import { TestAppservice } from './support/test-appservice.ts';
import { createRoom } from './support/room-actions.ts';

const bridge = new TestAppservice({ id: 'dirbridge' });
const dir = mkdtempSync(join(tmpdir(), 'foyer-as-dir-'));
const file = join(dir, 'bridge.yaml');
writeFileSync(file, bridge.registrationYaml());
const listPath = (networkId: string, roomId: string) => `/_matrix/client/v3/directory/list/appservice/${encodeURIComponent(networkId)}/${encodeURIComponent(roomId)}`;

describeEachDatabase(
  'appservice room directories',
  ({ server }) => {
    it('lists rooms per network, shown by third_party_instance_id and include_all_networks only', async () => {
      const s = server();
      const alice = await s.registerUser();
      const bridged = await createRoom(s, alice, { name: 'bridged' });
      const local = await createRoom(s, alice, { name: 'local', visibility: 'public' });

      const put = await s.request('PUT', listPath('libera', bridged), { token: bridge.asToken, body: { visibility: 'public' } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const ids = async (body: Record<string, unknown>) => {
        const res = await s.request('POST', '/_matrix/client/v3/publicRooms', { token: alice.accessToken, body });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return (res.body.chunk as Array<{ room_id: string }>).map((r) => r.room_id).sort();
      };
      assert.deepEqual(await ids({}), [local]);
      assert.deepEqual(await ids({ third_party_instance_id: `${bridge.id}|libera` }), [bridged]);
      assert.deepEqual(await ids({ third_party_instance_id: `${bridge.id}|oftc` }), []);
      assert.deepEqual(await ids({ include_all_networks: true }), [bridged, local].sort());
      const get = await s.request('GET', '/_matrix/client/v3/publicRooms', { token: alice.accessToken });
      assert.deepEqual(get.body.chunk.map((r: { room_id: string }) => r.room_id), [local]);

      const unlist = await s.request('PUT', listPath('libera', bridged), { token: bridge.asToken, body: { visibility: 'private' } });
      assert.equal(unlist.status, 200);
      assert.deepEqual(await ids({ third_party_instance_id: `${bridge.id}|libera` }), []);
    });

    it('refuses users, unknown rooms, bad bodies and contradictory queries', async () => {
      const s = server();
      const alice = await s.registerUser();
      const roomId = await createRoom(s, alice);
      const byUser = await s.request('PUT', listPath('libera', roomId), { token: alice.accessToken, body: { visibility: 'public' } });
      assert.equal(byUser.status, 403);
      assert.equal(byUser.body.errcode, 'M_FORBIDDEN');
      const unknown = await s.request('PUT', listPath('libera', `!nope:${s.serverName}`), { token: bridge.asToken, body: { visibility: 'public' } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
      const bad = await s.request('PUT', listPath('libera', roomId), { token: bridge.asToken, body: { visibility: 'sometimes' } });
      assert.equal(bad.status, 400);
      const noAuth = await s.request('PUT', listPath('libera', roomId), { body: { visibility: 'public' } });
      assert.equal(noAuth.status, 401);
      const both = await s.request('POST', '/_matrix/client/v3/publicRooms', { token: alice.accessToken, body: { include_all_networks: true, third_party_instance_id: `${bridge.id}|libera` } });
      assert.equal(both.status, 400);
      assert.equal(both.body.errcode, 'M_INVALID_PARAM');
      const malformed = await s.request('POST', '/_matrix/client/v3/publicRooms', { token: alice.accessToken, body: { third_party_instance_id: 'no-bar' } });
      assert.equal(malformed.status, 400);
    });
  },
  { app_service_config_files: [file] },
);
