import { createHmac } from 'node:crypto';

/** Enough for every active key across a day boundary; each entry is a 32-byte key. */
const MAX_CACHED_KEYS = 1024;

/** Recently derived keys, least recently used first (Map keeps insertion order). */
const cache = new Map<string, Buffer>();

export function hmacSha256(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * The SigV4 signing key for a secret, scope date (YYYYMMDD), region and service. Derivation costs
 * four HMACs and changes once a day per key, so keys are kept in a small LRU.
 */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\n${region}\n${service}\n${secret}`;
  const hit = cache.get(id);
  if (hit) {
    cache.delete(id);
    cache.set(id, hit);
    return hit;
  }
  let key = hmacSha256(`AWS4${secret}`, date);
  key = hmacSha256(key, region);
  key = hmacSha256(key, service);
  key = hmacSha256(key, 'aws4_request');
  cache.set(id, key);
  if (cache.size > MAX_CACHED_KEYS) cache.delete(cache.keys().next().value!);
  return key;
}
