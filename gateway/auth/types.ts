import type { IncomingHttpHeaders } from 'node:http';
import type { ChunkSigner } from './chunk-signer';
import type { Credential } from './identity';
import type { AuthService } from './credential-scope';

/** The parts of a request a signature covers, exactly as they came off the wire. */
export interface AuthInput {
  method: string;
  /** The path exactly as it came on the request line (percent-encoded), no query. */
  rawPath: string;
  /** The query string exactly as received, without '?', '' when none. */
  rawQuery: string;
  /** Lower-case names, as Node gives them. */
  headers: IncomingHttpHeaders;
  /** `req.rawHeaders`, when available: lets repeated headers be joined with ',' as SigV4 wants
   * (Node's `headers` joins them with ', '). */
  rawHeaders?: readonly string[];
  /** Hex SHA-256 of a body already read, for services other than S3 (STS) whose clients sign
   * the body's hash without sending x-amz-content-sha256. */
  bodySha256?: string;
  /** The service the request is for: s3 unless said (STS calls on the same endpoint). */
  service?: AuthService;
  /** Set: Signature Version 2 is accepted (RFS_SIGV2, S3 requests only); absent: refused as S3
   * refuses it on v4-only regions. `bucketInHost`: the bucket a virtual-hosted request names in
   * its Host (addressing.ts's Target), which goes first in SigV2's canonical resource. */
  sigv2?: { bucketInHost?: string };
}

/** Which signature authenticated a request, as the `s3:signatureversion` condition key says it. */
export type SignatureVersion = 'AWS' | 'AWS4-HMAC-SHA256';

/** Who sent the request: nobody in particular, or the holder of a credential. */
export type Principal = { anonymous: true } | { anonymous: false; credential: Credential };

/** What the body handler must check about the payload, as declared by x-amz-content-sha256. */
export type PayloadAuth =
  /** UNSIGNED-PAYLOAD, presigned URL without a payload hash, or anonymous. */
  | { mode: 'unsigned' }
  /** x-amz-content-sha256 is a hex digest: the body must hash to it (else XAmzContentSHA256Mismatch). */
  | { mode: 'sha256'; expectedHex: string }
  /** aws-chunked body; `signer` is present when chunk signatures must be verified.
   * `trailerNames`: the lower-case names declared in x-amz-trailer; other trailers are refused. */
  | { mode: 'streaming'; trailer: boolean; signer?: ChunkSigner; trailerNames?: readonly string[] };

export interface AuthResult {
  principal: Principal;
  payload: PayloadAuth;
  /** How the request was signed; absent for anonymous requests. */
  signatureVersion?: SignatureVersion;
}
