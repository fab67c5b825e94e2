import http from 'node:http';
import { signRequest } from './signing';

/** What a raw HTTP exchange answered. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP/1.1 request through node:http: nothing is normalised on the way (it refuses
 * raw control characters in a path, not escapes). `fresh`: on a connection of its own. */
export function rawRequest(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer | string, fresh = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, ...(fresh ? { agent: false } : {}) }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The same, SigV4-signed as the SDK signs (../http/signing.ts). */
export async function signedRequest(
  base: string,
  method: string,
  path: string,
  init: { query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer | string } = {},
  opts: Parameters<typeof signRequest>[2] = {},
  fresh = false,
): Promise<Answer> {
  const s = await signRequest(base, { method, path, ...init }, opts);
  return rawRequest(method, s.url, s.headers, init.body, fresh);
}

/** The status and the named elements of an XML error answer (entities decoded). */
export function errorFields(a: Answer, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { status: String(a.status) };
  for (const name of names) {
    const v = new RegExp(`<${name}>([^<]*)</${name}>`).exec(a.body)?.[1];
    if (v !== undefined) out[name] = v.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  }
  return out;
}

/** The S3 error code of an XML answer. */
export function errorCode(a: Answer): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(a.body)?.[1];
}
