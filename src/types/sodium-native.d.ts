// The part of sodium-native (libsodium bindings) Foyer uses; the package ships no types.
declare module 'sodium-native' {
  const sodium: {
    crypto_sign_SEEDBYTES: number;
    crypto_sign_PUBLICKEYBYTES: number;
    crypto_sign_SECRETKEYBYTES: number;
    crypto_sign_BYTES: number;
    crypto_sign_seed_keypair(publicKey: Buffer, secretKey: Buffer, seed: Buffer): void;
    crypto_sign_detached(signature: Buffer, message: Buffer, secretKey: Buffer): void;
  };
  export default sodium;
}
