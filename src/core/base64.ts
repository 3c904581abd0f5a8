// Matrix uses unpadded base64 (standard alphabet) for keys, signatures and hashes, and
// URL-safe unpadded base64 for event IDs (room versions ≥ 4).

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Accepts padded or unpadded, standard or URL-safe input, as the spec asks receivers to. */
export function decodeBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new Error('invalid base64');
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
