import { S3Error } from '../protocol/errors';
import { authenticateHeader, unsupportedMechanism } from './header-auth';
import type { Identity } from './identity';
import { parseContentSha256, payloadAuth } from './payload-mode';
import { authenticatePresigned } from './presigned-auth';
import { authenticateV2Header, authenticateV2Presigned } from './sigv2';
import { SIGV4_ALGORITHM } from './string-to-sign';
import type { AuthInput, AuthResult, PayloadAuth } from './types';
import { parseQuery, type QueryParam } from './uri-encoding';

export { ChunkSigner } from './chunk-signer';
export type { Credential, Identity } from './identity';
export { StaticIdentity } from './identity';
export type { AuthInput, AuthResult, PayloadAuth, Principal, SignatureVersion } from './types';

function has(query: readonly QueryParam[], ...names: string[]): boolean {
  return query.some((p) => names.includes(p.name));
}

/** Anonymous requests still say how their body is framed; nothing can be verified about it. */
function anonymousPayload(input: AuthInput): PayloadAuth {
  const value = input.headers['x-amz-content-sha256'];
  const declared = typeof value === 'string' ? parseContentSha256(value) : undefined;
  return declared ? payloadAuth(declared, undefined, input.headers) : { mode: 'unsigned' };
}

/** SigV2 is for S3 requests, when the gateway accepts it (input.sigv2, from RFS_SIGV2). */
function sigv2Accepted(input: AuthInput): boolean {
  return input.sigv2 !== undefined && (input.service ?? 's3') === 's3';
}

/**
 * Authenticates a request from its line and headers alone, before any body byte is read:
 * SigV4 Authorization header, SigV4 presigned query, SigV2 header or query (when
 * input.sigv2 is set; otherwise refused as S3 refuses it), or anonymous. Throws S3Error for
 * every failure. The returned PayloadAuth tells the body handler what remains to be verified.
 */
export async function authenticate(input: AuthInput, identity: Identity, now: number = Date.now()): Promise<AuthResult> {
  const query = parseQuery(input.rawQuery);
  const authorization = input.headers.authorization;
  const presigned = has(query, 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature');
  const v2Query = has(query, 'AWSAccessKeyId', 'Signature');
  if (Number(authorization !== undefined) + Number(presigned) + Number(v2Query) > 1) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization' },
    );
  }
  if (authorization !== undefined) {
    if (authorization.startsWith('AWS ') && sigv2Accepted(input)) return authenticateV2Header(input, authorization, identity, now);
    return { ...(await authenticateHeader(input, authorization, query, identity, now)), signatureVersion: SIGV4_ALGORITHM };
  }
  if (presigned) return { ...(await authenticatePresigned(input, query, identity, now)), signatureVersion: SIGV4_ALGORITHM };
  if (v2Query) {
    if (!sigv2Accepted(input)) throw unsupportedMechanism();
    return authenticateV2Presigned(input, query, identity, now);
  }
  return { principal: { anonymous: true }, payload: anonymousPayload(input) };
}
