import { S3Error } from '../protocol/errors';
import { formatAmzDate, isoSeconds, parseAmzDate, parseHttpDate } from './amz-date';
import { ChunkSigner } from './chunk-signer';
import { checkScopeDate, malformed, parseCredential, type AuthService, type CredentialScope } from './credential-scope';
import type { Identity } from './identity';
import { parseContentSha256, payloadAuth } from './payload-mode';
import { MAX_SKEW_MS, checkSignedHeaderSet, splitSignedHeaders, verifySignature } from './signed-request';
import { SIGV4_ALGORITHM } from './string-to-sign';
import type { AuthInput, AuthResult } from './types';
import type { QueryParam } from './uri-encoding';
import { single } from '../protocol/headers';

/** The answer S3 gives to SigV2 and any other scheme than SigV4 on v4-only regions. */
export function unsupportedMechanism(): S3Error {
  return new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
}

/** The three components of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export interface AuthorizationHeader {
  credential: CredentialScope;
  signedHeaders: string;
  signature: string;
}

const COMPONENTS = ['Credential', 'SignedHeaders', 'Signature'] as const;

/** Parses an Authorization header strictly. */
export function parseAuthorizationHeader(value: string, service?: AuthService): AuthorizationHeader {
  const space = value.indexOf(' ');
  if (space < 0) {
    throw new S3Error('InvalidArgument', "Authorization header is invalid -- one and only one ' ' (space) required.", {
      ArgumentName: 'Authorization',
    });
  }
  if (value.slice(0, space) !== SIGV4_ALGORITHM) throw unsupportedMechanism();
  const found: Partial<Record<(typeof COMPONENTS)[number], string>> = {};
  for (const raw of value.slice(space + 1).split(',')) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    const name = part.slice(0, eq) as (typeof COMPONENTS)[number];
    if (eq <= 0 || !COMPONENTS.includes(name) || found[name] !== undefined) {
      throw malformed('header', `the authorization component "${part}" is malformed.`);
    }
    found[name] = part.slice(eq + 1);
  }
  for (const name of COMPONENTS) {
    if (!found[name]) throw malformed('header', `missing ${name}.`);
  }
  return {
    credential: parseCredential(found.Credential!, 'header', service),
    signedHeaders: found.SignedHeaders!,
    signature: found.Signature!,
  };
}


/** The request timestamp: x-amz-date, else Date, as the ISO basic string that is signed. */
function requestTime(input: AuthInput): { ms: number; amzDate: string; raw: string } {
  const amz = single(input.headers['x-amz-date']);
  const date = single(input.headers['date']);
  const ms = amz !== undefined ? parseAmzDate(amz) : date !== undefined ? parseHttpDate(date) : undefined;
  if (ms === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  return { ms, amzDate: amz ?? formatAmzDate(ms), raw: (amz ?? date)! };
}

/** Verifies a request signed with the Authorization header. */
export async function authenticateHeader(
  input: AuthInput,
  authorization: string,
  query: readonly QueryParam[],
  identity: Identity,
  now: number,
): Promise<AuthResult> {
  const auth = parseAuthorizationHeader(authorization, input.service);
  const contentSha256 = single(input.headers['x-amz-content-sha256']) ?? input.bodySha256;
  if (contentSha256 === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  const declared = parseContentSha256(contentSha256);
  const time = requestTime(input);
  checkScopeDate(auth.credential, time.amzDate, 'header');
  if (Math.abs(time.ms - now) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      RequestTime: time.raw,
      ServerTime: isoSeconds(now),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }
  checkSignedHeaderSet(input, splitSignedHeaders(auth.signedHeaders));
  const verified = await verifySignature(
    input,
    query,
    {
      scope: auth.credential,
      amzDate: time.amzDate,
      signedHeaders: auth.signedHeaders,
      signature: auth.signature,
      hashedPayload: contentSha256,
    },
    identity,
  );
  const signer =
    declared.mode === 'streaming' && declared.signed
      ? new ChunkSigner(verified.key, time.amzDate, auth.credential.scope, verified.signature)
      : undefined;
  return {
    principal: { anonymous: false, credential: verified.credential },
    payload: payloadAuth(declared, signer, input.headers),
  };
}
