import { S3Error } from '../protocol/errors';

/** `AKID/YYYYMMDD/region/s3/aws4_request`, split. */
export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  /** `date/region/service/aws4_request`, as it goes into strings to sign. */
  scope: string;
}

/** Where the credential came from: errors differ in code and wording between the two. */
export type AuthPlace = 'header' | 'query';

/** The error S3 gives for a malformed credential or scope in the Authorization header or the query. */
export function malformed(place: AuthPlace, detail: string): S3Error {
  return place === 'header'
    ? new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${detail}`)
    : new S3Error('AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${detail}`);
}

/** The service a request is addressed to. */
export type AuthService = 's3' | 'sts';

/** Parses a Credential value. Any region is accepted (rfs is region-agnostic); the service must
 * be s3, or for STS calls sts (what the SDKs sign them for) or s3. */
export function parseCredential(value: string, place: AuthPlace, endpoint: AuthService = 's3'): CredentialScope {
  const parts = value.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    throw malformed(place, 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const [accessKeyId, date, region, service, terminal] = parts as [string, string, string, string, string];
  if (!/^\d{8}$/.test(date)) {
    throw malformed(place, `incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`);
  }
  if (service !== 's3' && service !== endpoint) throw malformed(place, `incorrect service "${service}". This endpoint belongs to "${endpoint}".`);
  if (terminal !== 'aws4_request') {
    throw malformed(place, `incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);
  }
  return { accessKeyId, date, region, service, scope: `${date}/${region}/${service}/${terminal}` };
}

/** The scope date must be the day of the request timestamp. */
export function checkScopeDate(scope: CredentialScope, amzDate: string, place: AuthPlace): void {
  if (amzDate.slice(0, 8) === scope.date) return;
  const message = `Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`;
  throw place === 'header'
    ? new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`)
    : new S3Error('AuthorizationQueryParametersError', message);
}
