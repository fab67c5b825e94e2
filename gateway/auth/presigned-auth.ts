import { S3Error } from '../protocol/errors';
import { isoSeconds, parseAmzDate } from './amz-date';
import { ChunkSigner } from './chunk-signer';
import { checkScopeDate, parseCredential } from './credential-scope';
import type { Identity } from './identity';
import { UNSIGNED_PAYLOAD, parseContentSha256, payloadAuth } from './payload-mode';
import { MAX_SKEW_MS, checkSignedHeaderSet, splitSignedHeaders, verifySignature } from './signed-request';
import { SIGV4_ALGORITHM } from './string-to-sign';
import type { AuthInput, AuthResult } from './types';
import type { QueryParam } from './uri-encoding';

/** A presigned URL may live at most a week. */
export const MAX_PRESIGNED_EXPIRES_S = 7 * 24 * 3600;

/** The query parameters that carry a presigned signature. */
export const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;

type PresignParam = (typeof PRESIGN_PARAMS)[number];

function queryError(message: string): S3Error {
  return new S3Error('AuthorizationQueryParametersError', message);
}

function presignParams(query: readonly QueryParam[]): Record<PresignParam, string> {
  const found: Partial<Record<PresignParam, string>> = {};
  for (const p of query) {
    if (!(PRESIGN_PARAMS as readonly string[]).includes(p.name)) continue;
    const name = p.name as PresignParam;
    if (found[name] !== undefined) throw queryError(`Duplicate ${name} query parameter.`);
    found[name] = p.value;
  }
  if (found['X-Amz-Algorithm'] !== undefined && found['X-Amz-Algorithm'] !== SIGV4_ALGORITHM) {
    throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  if (PRESIGN_PARAMS.some((name) => !found[name])) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  return found as Record<PresignParam, string>;
}

function parseExpires(value: string): number {
  if (!/^-?\d+$/.test(value)) throw queryError('X-Amz-Expires should be a number');
  const expires = Number(value);
  if (expires < 0) throw queryError('X-Amz-Expires must be non-negative');
  if (expires < 1) throw queryError('X-Amz-Expires must be at least 1 second');
  if (expires > MAX_PRESIGNED_EXPIRES_S) {
    throw queryError(
      'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds',
    );
  }
  return expires;
}

/** Verifies a presigned URL (query-string SigV4). */
export async function authenticatePresigned(
  input: AuthInput,
  query: readonly QueryParam[],
  identity: Identity,
  now: number,
): Promise<AuthResult> {
  const params = presignParams(query);
  const scope = parseCredential(params['X-Amz-Credential'], 'query', input.service);
  const amzDate = params['X-Amz-Date'];
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) throw queryError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  const expires = parseExpires(params['X-Amz-Expires']);
  checkScopeDate(scope, amzDate, 'query');
  if (signedAt - now > MAX_SKEW_MS) {
    throw new S3Error('AccessDenied', 'Request is not yet valid', {
      'X-Amz-Date': amzDate,
      Expires: isoSeconds(signedAt + expires * 1000),
      ServerTime: isoSeconds(now),
    });
  }
  if (now > signedAt + expires * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(expires),
      Expires: isoSeconds(signedAt + expires * 1000),
      ServerTime: isoSeconds(now),
    });
  }
  checkSignedHeaderSet(input, splitSignedHeaders(params['X-Amz-SignedHeaders']));

  // The payload hash is the header when sent, else the hoisted X-Amz-Content-Sha256 parameter
  // (the SDK presigner puts UNSIGNED-PAYLOAD there), else UNSIGNED-PAYLOAD.
  const header = input.headers['x-amz-content-sha256'];
  const hashedPayload =
    (Array.isArray(header) ? header[0] : header) ??
    query.find((p) => p.name === 'X-Amz-Content-Sha256')?.value ??
    UNSIGNED_PAYLOAD;
  const declared = parseContentSha256(hashedPayload);
  const verified = await verifySignature(
    input,
    query,
    {
      scope,
      amzDate,
      signedHeaders: params['X-Amz-SignedHeaders'],
      signature: params['X-Amz-Signature'],
      hashedPayload,
      omitParam: 'X-Amz-Signature',
    },
    identity,
  );
  const signer =
    declared.mode === 'streaming' && declared.signed
      ? new ChunkSigner(verified.key, amzDate, scope.scope, verified.signature)
      : undefined;
  return {
    principal: { anonymous: false, credential: verified.credential },
    payload: payloadAuth(declared, signer, input.headers),
  };
}
