import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Bucket, CorsRule } from '../../metadata/store';
import type { BucketCall, S3Call, Services } from '../services';
import type { Target } from './addressing';
import { S3Error } from '../protocol/errors';
import { parseXml, xmlDocument } from '../protocol/xml';
import { readSmallBody } from './small-body';
import { single } from '../protocol/headers';
import { xmlList, xmlStrings, xmlText } from '../protocol/xml-fields';

/**
 * Bucket CORS: the configuration operations, the preflight (OPTIONS) answer, and the headers
 * an actual cross-origin request gets. What S3 answers on the wire (AccessForbidden with a
 * "CORSResponse: ..." message, lowercase Allow-Headers, Allow-Credentials only for a named
 * origin, the three-name Vary) follows recordings made against S3 (LocalStack's AWS-validated
 * CORS tests, ceph s3-tests); the API reference is silent on most of it.
 */

/** The methods a rule may allow; case-sensitive, as S3 compares them. */
const CORS_METHODS: readonly string[] = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'];
const MAX_RULES = 100;
const MAX_CONFIG_BYTES = 64 * 1024;
const MAX_ID_CHARS = 255;
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';
/** RFC 9110 token: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html */
export async function putBucketCors(call: S3Call): Promise<void> {
  const { services, target, reply } = call;
  // S3 requires an integrity check on this body: Content-MD5, or (current SDKs) a flexible checksum.
  const body = await readSmallBody(call, { limit: MAX_CONFIG_BYTES, required: true });
  const rules = parseCorsConfiguration(body.toString('utf8'));
  await services.buckets.update(target.bucket, { cors: rules });
  reply.send();
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html */
export async function getBucketCors({ bucket, services, target, caller, reply }: BucketCall): Promise<void> {
  if (!bucket.cors?.length) throw new S3Error('NoSuchCORSConfiguration', undefined, { BucketName: target.bucket });
  const rules = bucket.cors.map((r) => ({
    ...(r.allowedHeaders.length ? { AllowedHeader: r.allowedHeaders } : {}),
    AllowedMethod: r.allowedMethods,
    AllowedOrigin: r.allowedOrigins,
    ...(r.exposeHeaders.length ? { ExposeHeader: r.exposeHeaders } : {}),
    ...(r.id !== undefined ? { ID: r.id } : {}),
    ...(r.maxAgeSeconds !== undefined ? { MaxAgeSeconds: r.maxAgeSeconds } : {}),
  }));
  reply.type('application/xml').send(xmlDocument('CORSConfiguration', { CORSRule: rules }));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketCors.html (204 with or without one). */
export async function deleteBucketCors({ services, target, caller, reply }: S3Call): Promise<void> {
  await services.buckets.update(target.bucket, { cors: null });
  reply.code(204).send();
}

/**
 * The answer to a preflight OPTIONS on a bucket or object; no authentication, as browsers send
 * none. https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
 */
export async function preflight(services: Services, target: Target, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const origin = single(request.headers['origin']);
  if (origin === undefined) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  const requested = single(request.headers['access-control-request-method']);
  const method = requested ?? 'OPTIONS';
  const bucket = target.bucket === '' ? undefined : await services.buckets.get(target.bucket);
  if (!bucket) throw forbidden(method, 'BUCKET', 'CORSResponse: Bucket not found');
  if (!bucket.cors?.length) throw forbidden(method, 'BUCKET', 'CORSResponse: CORS is not enabled for this bucket.');
  if (requested === undefined || !CORS_METHODS.includes(requested)) {
    throw new S3Error('BadRequest', `Invalid Access-Control-Request-Method: ${requested ?? 'null'}`);
  }
  const names = requestedHeaders(single(request.headers['access-control-request-headers']));
  if (names instanceof S3Error) throw names;
  const match = matchRule(bucket.cors, origin, requested, names);
  if (!match) throw forbidden(method, target.key === '' ? 'BUCKET' : 'OBJECT');
  // Only the requested headers are echoed, lowercase, in the order asked.
  const allow = names.length ? { 'access-control-allow-headers': names.map((n) => n.toLowerCase()).join(', ') } : {};
  reply.code(200).headers({ ...allowedHeaders(match, origin), ...allow }).send();
}

/** The routed OPTIONS request (it needs no permission: the bucket's CORS rules decide). */
export async function preflightRequest({ services, target, request, reply }: S3Call): Promise<void> {
  await preflight(services, target, request, reply);
}

/**
 * The CORS headers for an actual (non-OPTIONS) request that carries an Origin, success or
 * error alike; undefined when the bucket has no rule for it. The method is the one a
 * preflight announced (Access-Control-Request-Method) when present, else the request's own;
 * Access-Control-Request-Headers, when present, must be allowed too. The request's real
 * headers are not checked, as on S3.
 */
export async function actualRequestCorsHeaders(
  services: Services,
  bucketName: string,
  request: FastifyRequest,
): Promise<Record<string, string> | undefined> {
  const origin = single(request.headers['origin']);
  if (origin === undefined || bucketName === '') return undefined;
  const bucket: Bucket | undefined = await services.buckets.get(bucketName);
  if (!bucket?.cors?.length) return undefined;
  const names = requestedHeaders(single(request.headers['access-control-request-headers']));
  if (names instanceof S3Error) return undefined;
  const match = matchRule(bucket.cors, origin, single(request.headers['access-control-request-method']) ?? request.method, names);
  return match && allowedHeaders(match, origin);
}

/** Parses and validates a CORSConfiguration document, with S3's codes for each fault. */
export function parseCorsConfiguration(xml: string): CorsRule[] {
  const doc = parseXml(xml);
  const config = doc.CORSConfiguration;
  if (config === undefined || typeof config !== 'object' || config === null) throw new S3Error('MalformedXML');
  const { CORSRule, ...rest } = config as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new S3Error('MalformedXML');
  const rules = xmlList(CORSRule);
  if (rules.length === 0) throw new S3Error('MalformedXML');
  if (rules.length > MAX_RULES) {
    throw new S3Error('InvalidRequest', `The number of CORS rules should not exceed allowed limit of ${MAX_RULES} rules.`);
  }
  return rules.map(parseRule);
}

const RULE_ELEMENTS = new Set(['ID', 'AllowedHeader', 'AllowedMethod', 'AllowedOrigin', 'ExposeHeader', 'MaxAgeSeconds']);

function parseRule(raw: unknown): CorsRule {
  if (typeof raw !== 'object' || raw === null) throw new S3Error('MalformedXML');
  const el = raw as Record<string, unknown>;
  if (Object.keys(el).some((k) => !RULE_ELEMENTS.has(k))) throw new S3Error('MalformedXML');
  const allowedOrigins = xmlStrings(el.AllowedOrigin);
  const allowedMethods = xmlStrings(el.AllowedMethod);
  if (allowedOrigins.length === 0 || allowedMethods.length === 0) throw new S3Error('MalformedXML');
  const bad = allowedMethods.find((m) => !CORS_METHODS.includes(m));
  if (bad !== undefined) throw new S3Error('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${bad}`);
  const allowedHeaders = xmlStrings(el.AllowedHeader);
  for (const [name, values] of [['AllowedOrigin', allowedOrigins], ['AllowedHeader', allowedHeaders]] as const) {
    const v = values.find((x) => x.indexOf('*') !== x.lastIndexOf('*'));
    if (v !== undefined) throw new S3Error('InvalidRequest', `${name} "${v}" can not have more than one wildcard.`);
  }
  const rule: CorsRule = { allowedOrigins, allowedMethods, allowedHeaders, exposeHeaders: xmlStrings(el.ExposeHeader) };
  const id = xmlText(el.ID);
  if (id !== undefined && id !== '') {
    if (id.length > MAX_ID_CHARS) throw new S3Error('MalformedXML');
    rule.id = id;
  }
  const maxAge = xmlText(el.MaxAgeSeconds);
  if (maxAge !== undefined) {
    if (!/^\d{1,9}$/.test(maxAge)) throw new S3Error('MalformedXML');
    rule.maxAgeSeconds = Number(maxAge);
  }
  return rule;
}

interface Match {
  rule: CorsRule;
  /** The rule matched through `*`: the answer is `*`, without credentials. */
  anyOrigin: boolean;
}

/** The first rule that allows this origin, method and every requested header. */
function matchRule(rules: readonly CorsRule[], origin: string, method: string, names: readonly string[]): Match | undefined {
  for (const rule of rules) {
    const pattern = rule.allowedOrigins.find((p) => wildcardMatch(p, origin));
    if (pattern === undefined || !rule.allowedMethods.includes(method)) continue;
    const headers = rule.allowedHeaders.map((h) => h.toLowerCase());
    if (names.every((n) => headers.some((h) => wildcardMatch(h, n.toLowerCase())))) return { rule, anyOrigin: pattern === '*' };
  }
  return undefined;
}

/** `pattern` with at most one `*`, which matches any run of characters (the empty one too),
 * anchored at both ends. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

/** The headers both a preflight and an actual request get when a rule matches. */
function allowedHeaders({ rule, anyOrigin }: Match, origin: string): Record<string, string> {
  const h: Record<string, string> = {
    'access-control-allow-origin': anyOrigin ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
  };
  if (rule.exposeHeaders.length) h['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['access-control-max-age'] = String(rule.maxAgeSeconds);
  if (!anyOrigin) h['access-control-allow-credentials'] = 'true';
  h.vary = VARY;
  return h;
}

/** Access-Control-Request-Headers as a list of names; empty list elements are ignored (RFC 9110). */
function requestedHeaders(value: string | undefined): string[] | S3Error {
  if (value === undefined) return [];
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const bad = names.find((n) => !TOKEN.test(n));
  return bad === undefined ? names : new S3Error('BadRequest', `Access-Control-Request-Headers "${bad}" contains invalid character.`);
}

function forbidden(method: string, resourceType: 'BUCKET' | 'OBJECT', message?: string): S3Error {
  return new S3Error('AccessForbidden', message, { Method: method, ResourceType: resourceType });
}
