import { EMPTY_SHA256 } from './string-to-sign';
import { sign, signaturesEqual } from './signature';

/**
 * What the aws-chunked decoder needs to verify chunk and trailer signatures: the request's signing
 * key, timestamp and scope, and the seed (the request's own signature) the chain starts from.
 * The key is a private field so that logging an AuthResult never prints it.
 */
export class ChunkSigner {
  readonly #key: Buffer;

  constructor(
    key: Buffer,
    readonly amzDate: string,
    readonly scope: string,
    readonly seedSignature: string,
  ) {
    this.#key = key;
  }

  /** String to sign for a data chunk (the final, empty one included), chained on the previous signature. */
  chunkStringToSign(previous: string, dataSha256Hex: string): string {
    return `AWS4-HMAC-SHA256-PAYLOAD\n${this.amzDate}\n${this.scope}\n${previous}\n${EMPTY_SHA256}\n${dataSha256Hex}`;
  }

  /** String to sign for the trailer block, chained on the final chunk's signature; the hash is of
   * the trailers as `name:value\n` lines. */
  trailerStringToSign(previous: string, trailerSha256Hex: string): string {
    return `AWS4-HMAC-SHA256-TRAILER\n${this.amzDate}\n${this.scope}\n${previous}\n${trailerSha256Hex}`;
  }

  /** The hex signature of a string to sign. */
  sign(stringToSign: string): string {
    return sign(this.#key, stringToSign);
  }

  /** Constant-time comparison of a computed signature with one read from the body. */
  matches(computed: string, provided: string): boolean {
    return signaturesEqual(computed, provided);
  }

  toJSON(): object {
    return { amzDate: this.amzDate, scope: this.scope };
  }
}
