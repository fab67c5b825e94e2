import type { FastifyRequest } from 'fastify';
import { authenticate, type Credential } from '../auth';
import { S3Error } from '../protocol/errors';
import { StsError } from '../sts/errors';
import { oidcUserId, oidcUserName } from '../sts/sts';
import type { Services } from '../services';
import type { RequestFacts } from '../iam/authorize';

/**
 * Who may call the admin API: a SigV4-signed caller (root, a user, an STS session) or a
 * Keycloak token sent as `Authorization: Bearer …`, whose policies allow `rfs:Admin`. A
 * token's roles name its policies, as they do for STS. Anyone else: AccessDenied.
 */
export function adminAuthorizer(services: Services): (request: FastifyRequest) => Promise<Credential> {
  return async (request) => {
    const authorization = request.headers.authorization;
    const caller = authorization?.startsWith('Bearer ') ? await tokenCaller(services, authorization.slice(7).trim()) : await signedCaller(services, request);
    const facts: RequestFacts = { ip: request.ip, secure: request.protocol === 'https', headers: request.headers, query: new URLSearchParams() };
    if (!(await services.access.mayAdminister(caller, facts))) throw new S3Error('AccessDenied');
    return caller;
  };
}

async function signedCaller(services: Services, request: FastifyRequest): Promise<Credential> {
  const [rawPath, rawQuery = ''] = (request.raw.url ?? '/').split('?', 2);
  const auth = await authenticate(
    { method: request.method, rawPath, rawQuery, headers: request.headers, rawHeaders: request.raw.rawHeaders },
    services.identity,
  );
  if (auth.principal.anonymous) throw new S3Error('AccessDenied');
  return auth.principal.credential;
}

/** A verified token as the web-identity session it would get from STS: the same user name
 * and canonical id, bounded by the policies its roles name. */
async function tokenCaller(services: Services, token: string): Promise<Credential> {
  if (!services.oidc) throw new S3Error('AccessDenied', 'No OpenID Connect provider is configured (RFS_OIDC_ISSUER)');
  const verified = await services.oidc.verify(token).catch((e: unknown) => {
    if (e instanceof StsError) throw new S3Error('AccessDenied', e.message);
    throw e;
  });
  const name = oidcUserName(verified.issuer, verified.subject);
  return {
    accessKeyId: '',
    secretKey: '',
    owner: oidcUserId(verified.issuer, verified.subject).toString('hex'),
    displayName: verified.username ?? name,
    user: name,
    session: {
      kind: 'web-identity',
      policies: verified.roles,
      roleArn: 'arn:aws:iam:::role/admin-api',
      sessionName: verified.username ?? verified.subject,
      subject: verified.subject,
      issuedAt: Date.now(),
      expiresAt: verified.expiresAt.getTime(),
    },
  };
}
