import { S3Error } from '../protocol/errors';
import { canonicalHeaders, canonicalQuery, canonicalRequest, headerLookup } from './canonical-request';
import { bytesText } from '../protocol/headers';
import type { CredentialScope } from './credential-scope';
import type { Credential, Identity } from './identity';
import { signaturesEqual, sign } from './signature';
import { signingKey } from './signing-key';
import { SIGV4_ALGORITHM, sha256Hex } from './string-to-sign';
import type { AuthInput } from './types';
import { canonicalUri, type QueryParam } from './uri-encoding';

/** How far a request timestamp may be from the server's clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

/** A SigV4 signature claim, from the Authorization header or the query. */
export interface SignatureClaim {
  scope: CredentialScope;
  amzDate: string;
  /** The SignedHeaders list as sent, `;`-separated. */
  signedHeaders: string;
  signature: string;
  hashedPayload: string;
  /** The query parameter left out of the canonical query (X-Amz-Signature for presigned URLs). */
  omitParam?: string;
}

/** A verified claim: who signed, and the key and signature the chunk chain continues from. */
export interface VerifiedSignature {
  credential: Credential;
  key: Buffer;
  signature: string;
}

/** Splits a SignedHeaders value; names are matched lower-case. */
export function splitSignedHeaders(value: string): string[] {
  return value.split(';').map((h) => h.toLowerCase());
}

/**
 * `host` must be signed, and so must every x-amz-* header present (except x-amz-content-sha256,
 * whose value is in the canonical request anyway). Otherwise S3 answers AccessDenied.
 */
export function checkSignedHeaderSet(input: AuthInput, signed: readonly string[]): void {
  const set = new Set(signed);
  const unsigned: string[] = [];
  if (!set.has('host')) unsigned.push('host');
  for (const name of Object.keys(input.headers)) {
    if (name.startsWith('x-amz-') && name !== 'x-amz-content-sha256' && !set.has(name)) unsigned.push(name);
  }
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }
}

/** Session tokens are bearer-like: keep them out of error bodies and logs. */
function redactTokens(text: string): string {
  return text
    .replace(/^(x-amz-security-token:).*$/gm, '$1<redacted>')
    .replace(/(X-Amz-Security-Token=)[^&\n]*/g, '$1<redacted>');
}

/** Looks up the key, rebuilds the canonical request and compares signatures. */
export async function verifySignature(
  input: AuthInput,
  query: readonly QueryParam[],
  claim: SignatureClaim,
  identity: Identity,
): Promise<VerifiedSignature> {
  const { scope } = claim;
  const header = input.headers['x-amz-security-token'];
  const token = typeof header === 'string' ? header : query.find((p) => p.name === 'X-Amz-Security-Token')?.value;
  const credential = await identity.credential(scope.accessKeyId, token);
  if (!credential) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: scope.accessKeyId });

  const signed = splitSignedHeaders(claim.signedHeaders);
  const canonical = canonicalRequest({
    method: input.method,
    uri: canonicalUri(input.rawPath),
    query: canonicalQuery(query, claim.omitParam),
    headers: canonicalHeaders(signed, headerLookup(input.headers, input.rawHeaders)),
    signedHeaders: claim.signedHeaders,
    hashedPayload: claim.hashedPayload,
  });
  // The canonical request is a byte string (header values as sent): hash those bytes.
  const toSign = `${SIGV4_ALGORITHM}\n${claim.amzDate}\n${scope.scope}\n${sha256Hex(Buffer.from(canonical, 'latin1'))}`;
  const key = signingKey(credential.secretKey, scope.date, scope.region, scope.service);
  const signature = sign(key, toSign);
  if (!signaturesEqual(signature, claim.signature)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: scope.accessKeyId,
      StringToSign: toSign,
      SignatureProvided: claim.signature,
      CanonicalRequest: redactTokens(bytesText(canonical)),
    });
  }
  return { credential, key, signature };
}
