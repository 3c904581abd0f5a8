// auto_accept_invites (Synapse's option) and the rate-limit exemption of application services.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachDatabase } from './harness.ts';
import { TestAppservice } from './support/test-appservice.ts';
import { createRoom, roomPath } from './support/room-actions.ts';

const exempt = new TestAppservice({ id: 'exempt' });
const limited = new TestAppservice({ id: 'limited', extra: 'rate_limited: true' });
const dir = mkdtempSync(join(tmpdir(), 'foyer-as-extras-'));
const files = [join(dir, 'exempt.yaml'), join(dir, 'limited.yaml')];
writeFileSync(files[0], exempt.registrationYaml());
// `extra` appends a second rate_limited key: YAML keeps the last one.
writeFileSync(files[1], limited.registrationYaml().replace('rate_limited: false\n', ''));

async function joinedMembers(s: { request: Function }, token: string, roomId: string): Promise<string[]> {
  const res = await (s.request as any)('GET', `${roomPath(roomId)}/joined_members`, { token });
  return Object.keys(res.body.joined ?? {});
}

describeEachDatabase(
  'auto_accept_invites and appservice rate limits',
  ({ server }) => {
    it('local users join rooms they are invited to by local users, as themselves', async () => {
      const s = server();
      const alice = await s.registerUser();
      const bob = await s.registerUser();
      const roomId = await createRoom(s, alice);
      const inv = await s.request('POST', `${roomPath(roomId)}/invite`, { token: alice.accessToken, body: { user_id: bob.userId } });
      assert.equal(inv.status, 200);
      const deadline = Date.now() + 30_000;
      while (!(await joinedMembers(s, alice.accessToken, roomId)).includes(bob.userId)) {
        if (Date.now() > deadline) assert.fail('bob did not join');
        await new Promise((r) => setTimeout(r, 100));
      }
      const state = await s.request('GET', `${roomPath(roomId)}/state/m.room.member/${encodeURIComponent(bob.userId)}`, { token: bob.accessToken });
      assert.equal(state.body.membership, 'join');
    });

    it('records direct-message invites in m.direct of the invitee', async () => {
      const s = server();
      const alice = await s.registerUser();
      const bob = await s.registerUser();
      const roomId = await createRoom(s, alice, { is_direct: true, invite: [bob.userId], preset: 'trusted_private_chat' });
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await s.request('GET', `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/account_data/m.direct`, { token: bob.accessToken });
        if (res.status === 200 && res.body[alice.userId]?.includes(roomId)) break;
        if (Date.now() > deadline) assert.fail('m.direct not set');
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    it('exempts appservices from rate limits unless rate_limited: true', async () => {
      const s = server();
      const alice = await s.registerUser();
      const roomId = await createRoom(s, alice, { preset: 'public_chat' });
      for (const as of [exempt, limited]) {
        const join = await s.request('POST', `${roomPath(roomId)}/join`, { token: as.asToken, body: {} });
        assert.equal(join.status, 200, JSON.stringify(join.body));
      }
      const statuses = async (token: string) => {
        const out: number[] = [];
        for (let i = 0; i < 6; i++) {
          const r = await s.request('PUT', `${roomPath(roomId)}/send/m.room.message/rl${i}_${token.slice(-6)}`, { token, body: { msgtype: 'm.text', body: String(i) } });
          out.push(r.status);
        }
        return out;
      };
      assert.deepEqual(await statuses(exempt.asToken), [200, 200, 200, 200, 200, 200]);
      assert.ok((await statuses(limited.asToken)).includes(429));
      assert.ok((await statuses(alice.accessToken)).includes(429));
    });
  },
  {
    app_service_config_files: files,
    auto_accept_invites: { enabled: true, only_from_local_users: true },
    rate_limits: { enabled: true, message: { per_second: 0.01, burst_count: 3 }, registration: { per_second: 100, burst_count: 100 }, login: { per_second: 100, burst_count: 100 } },
  },
);
