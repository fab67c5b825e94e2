import { blake3 } from '@napi-rs/blake-hash';

/** A chunk's address: BLAKE3-256 of its bytes, lowercase hex. BLAKE3 was measured at
 * 2–4× SHA-256 on these machines (npm run bench prints both), so it is the chunk hash. */
export function chunkAddress(data: Uint8Array): string {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return blake3(bytes).toString('hex');
}

export const ADDRESS_PATTERN = /^[0-9a-f]{64}$/;
