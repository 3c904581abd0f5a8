// Matrix uses unpadded base64 (standard alphabet) for keys, signatures and hashes, and
// URL-safe unpadded base64 for event IDs (room versions ≥ 4).

export function encodeBase64(bytes: Uint8Array): string {
  const text = asBuffer(bytes).toString('base64');
  // At most two characters of padding; cheaper than a regular expression (signatures, hashes).
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  return end === text.length ? text : text.slice(0, end);
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('base64url');
}

/** A Buffer over the same memory (Buffer.from(Uint8Array) would copy it). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Accepts padded or unpadded, standard or URL-safe input, as the spec asks receivers to. */
export function decodeBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new Error('invalid base64');
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
