import { createHash } from 'node:crypto';
import type { S3Call } from '../services';
import { authenticate } from '../auth';
import { readSmallBody } from '../s3/small-body';
import { S3Error } from '../protocol/errors';
import { handleSts, StsError, stsErrorXml } from './sts';

/** STS's query API sends a few parameters; an inline session policy is the largest. */
const STS_BODY_LIMIT = 64 * 1024;

/**
 * STS on the gateway's own endpoint (`POST /`, form-encoded, as AWS's STS and MinIO take it),
 * so unchanged clients (`aws sts … --endpoint-url`, the SDKs' web-identity provider) work.
 * AssumeRoleWithWebIdentity is unsigned (the token is the proof); AssumeRole is SigV4-signed
 * over the body, so the body is read before the caller is known. Answers and errors are
 * STS's XML, not S3's.
 */
export async function stsRequest(call: S3Call): Promise<void> {
  const { services, target, request, reply } = call;
  const body = await readSmallBody(call, { limit: STS_BODY_LIMIT });
  const params = new URLSearchParams(target.query);
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) params.set(name, value);
  try {
    const auth = await authenticate(
      {
        method: request.method, rawPath: target.rawPath, rawQuery: target.rawQuery, headers: request.headers,
        rawHeaders: request.raw.rawHeaders, bodySha256: createHash('sha256').update(body).digest('hex'), service: 'sts',
      },
      services.identity,
    );
    const caller = auth.principal.anonymous ? undefined : auth.principal.credential;
    const xml = await handleSts(params, caller, {
      iam: services.meta.iam,
      box: services.box,
      verifier: services.oidc,
      maxSeconds: services.config.stsMaxSeconds,
      validatePolicy: (text) => services.iam.compiled(text, 'identity'),
      iamChanged: () => services.iam.iamChanged(),
      requestId: request.id,
    });
    reply.type('text/xml').send(xml);
  } catch (e) {
    const error = e instanceof S3Error ? new StsError(e.code, e.message, e.status) : e;
    if (!(error instanceof StsError)) throw error;
    reply.code(error.status).type('text/xml').send(stsErrorXml(error, request.id));
  }
}
