// matrix-bot-sdk reads a few enums from this module when it loads, and only touches the
// native classes once a bridge turns encryption on. Enums are plain objects here; everything
// else throws, so a test that relies on encryption fails loudly instead of silently.
'use strict';
const enumLike = (names) => Object.freeze(Object.fromEntries(names.map((n, i) => [n, i])));
const unavailable = (name) =>
  class {
    constructor() {
      throw new Error(`@matrix-org/matrix-sdk-crypto-nodejs is not installed (stub): ${name} needs encryption`);
    }
  };
module.exports = new Proxy(
  {
    StoreType: enumLike(['Sled', 'Sqlite']),
    RoomSettings: unavailable('RoomSettings'),
    EncryptionAlgorithm: enumLike(['OlmV1Curve25519AesSha2', 'MegolmV1AesSha2']),
    RequestType: enumLike(['KeysUpload', 'KeysQuery', 'KeysClaim', 'ToDevice', 'SignatureUpload', 'RoomMessage', 'KeysBackup']),
    HistoryVisibility: enumLike(['Invited', 'Joined', 'Shared', 'WorldReadable']),
  },
  {
    get(target, prop) {
      if (prop in target || typeof prop === 'symbol' || prop === '__esModule' || prop === 'then') return target[prop];
      return unavailable(String(prop));
    },
  },
);
