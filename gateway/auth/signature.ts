import { timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from './signing-key';

/** The hex signature of a string to sign under a signing key. */
export function sign(key: Buffer, stringToSign: string): string {
  return hmacSha256(key, stringToSign).toString('hex');
}

/** Compares a computed signature with the one a client sent, in time independent of their content. */
export function signaturesEqual(computed: string, provided: string): boolean {
  const a = Buffer.from(computed, 'latin1');
  const b = Buffer.from(provided, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}
