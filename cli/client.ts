import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { ServerError, UnreachableError } from './errors';

/** The admin API's path prefix on every gateway. */
export const ADMIN_PREFIX = '/_rfs/admin';

/** How the CLI proves who it is: an access key (SigV4, as any S3 client signs), or an OIDC
 * bearer token from Keycloak (a user with the admin role). */
export type Auth =
  | { kind: 'sigv4'; accessKey: string; secretKey: string; region: string }
  | { kind: 'bearer'; token: string };

/** Path segments, each URI-encoded: `adminPath('users', name, 'keys')`. */
export const adminPath = (...segments: string[]): string => segments.map(encodeURIComponent).join('/');

/** An admin call may scan (bucket usage): allow it time, but not forever. */
const TIMEOUT_MS = 120_000;

/** A client of the admin REST API (gateway/admin/): JSON in and out. */
export class AdminClient {
  constructor(private readonly endpoint: string, private readonly auth: Auth) {}

  get<T>(route: string): Promise<T> {
    return this.call<T>('GET', route);
  }

  /** `body`: an object sent as JSON, or a string sent as it is (a policy document). */
  async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const url = new URL(`${this.endpoint}${ADMIN_PREFIX}/${route}`);
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { host: url.host, accept: 'application/json' };
    if (text !== '') headers['content-type'] = 'application/json';
    const signedHeaders = await this.authorize(method, url, headers, text);
    let response: Response;
    try {
      response = await fetch(url, { method, headers: signedHeaders, body: text === '' ? undefined : text, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      throw new UnreachableError(`cannot reach ${this.endpoint}: ${describeFetchError(e)}`);
    }
    const answer = await response.text();
    if (!response.ok) throw errorOf(response.status, answer);
    if (answer === '') return undefined as T;
    try {
      return JSON.parse(answer) as T;
    } catch {
      throw new UnreachableError(`${this.endpoint} answered ${response.status} with something other than JSON: is it an rfs gateway?`);
    }
  }

  private async authorize(method: string, url: URL, headers: Record<string, string>, body: string): Promise<Record<string, string>> {
    if (this.auth.kind === 'bearer') return { ...headers, authorization: `Bearer ${this.auth.token}` };
    const signer = new SignatureV4({
      credentials: { accessKeyId: this.auth.accessKey, secretAccessKey: this.auth.secretKey },
      region: this.auth.region,
      service: 's3',
      sha256: Sha256,
      // S3's rules: the path is signed as it is sent (its segments are encoded once, by adminPath).
      uriEscapePath: false,
    });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname.replace(/%2F/gi, '/'), // S3's canonical URI has '/' where %2F was sent (OIDC user names)
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
      body,
    });
    return signed.headers as Record<string, string>;
  }
}

/** The server's `{ error: { code, message } }`, an S3 XML error (a gateway without the admin
 * API, or a proxy), or whatever else came back. */
function errorOf(status: number, text: string): ServerError {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) return new ServerError(status, parsed.error.code, parsed.error.message ?? '');
  } catch {
    // not JSON
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  if (code) return new ServerError(status, code, /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '');
  return new ServerError(status, `HTTP${status}`, text.trim().slice(0, 200) || `the server answered ${status}`);
}

function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  return err.cause?.code ?? err.cause?.message ?? err.message;
}
