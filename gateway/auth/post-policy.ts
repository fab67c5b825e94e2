import { S3Error } from '../protocol/errors';
import { parseAmzDate } from './amz-date';
import { parseCredential } from './credential-scope';
import { unsupportedMechanism } from './header-auth';
import type { Credential, Identity } from './identity';
import { sign, signaturesEqual } from './signature';
import { signingKey } from './signing-key';
import { SIGV2_VERSION, verifyPolicySignatureV2 } from './sigv2';
import { SIGV4_ALGORITHM } from './string-to-sign';
import type { SignatureVersion } from './types';

/**
 * Browser-based uploads (POST Object) authenticated by a signed policy, SigV4 flavour:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html
 * The string to sign is the base64 policy itself; the policy's conditions then bound every
 * form field. Error wording follows S3's ("Invalid according to Policy: ...").
 * SigV2 flavour (when accepted): fields AWSAccessKeyId, policy, signature, where
 * signature = base64(HMAC-SHA1(secret, base64 policy)).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html
 */

/** The form fields, names lower-cased (S3 matches form field names without regard to case). */
export type FormFields = ReadonlyMap<string, string>;

const AUTH_FIELDS = ['policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature'] as const;
const V2_FIELDS = ['awsaccesskeyid', 'policy', 'signature'] as const;

/** A SigV2 form: none of SigV4's own fields, some of SigV2's. */
function isV2Form(fields: FormFields): boolean {
  return !AUTH_FIELDS.some((f) => f !== 'policy' && fields.has(f)) && (fields.has('awsaccesskeyid') || fields.has('signature'));
}

/** A form missing one of the fields S3 needs, in S3's words. */
export function missingField(name: string): S3Error {
  return new S3Error(
    'InvalidArgument',
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    { ArgumentName: name, ArgumentValue: '' },
  );
}

/**
 * The credential whose key signed the form's policy, and which signature version it used. A
 * form with none of the SigV4 fields is
 * anonymous, which rfs (no public buckets yet) refuses; a form with some must have all of them.
 * A SigV2 form is refused as S3 refuses it on v4-only regions unless `options.sigv2`.
 */
export async function authenticatePostForm(
  fields: FormFields,
  identity: Identity,
  options: { sigv2?: boolean } = {},
): Promise<{ credential: Credential; signatureVersion: SignatureVersion }> {
  if (isV2Form(fields)) {
    if (!options.sigv2) throw unsupportedMechanism();
    for (const f of V2_FIELDS) if (!fields.has(f)) throw missingField(f === 'awsaccesskeyid' ? 'AWSAccessKeyId' : f);
    const token = fields.get('x-amz-security-token');
    const credential = await verifyPolicySignatureV2(fields.get('awsaccesskeyid')!, fields.get('policy')!, fields.get('signature')!, token, identity);
    return { credential, signatureVersion: SIGV2_VERSION };
  }
  if (!AUTH_FIELDS.some((f) => fields.has(f))) throw new S3Error('AccessDenied');
  for (const f of AUTH_FIELDS) if (!fields.has(f)) throw missingField(f);
  const algorithm = fields.get('x-amz-algorithm')!;
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new S3Error('InvalidArgument', `Only ${SIGV4_ALGORITHM} is supported`, { ArgumentName: 'x-amz-algorithm', ArgumentValue: algorithm });
  }
  const amzDate = fields.get('x-amz-date')!;
  if (parseAmzDate(amzDate) === undefined) {
    throw new S3Error('InvalidArgument', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`, {
      ArgumentName: 'x-amz-date',
      ArgumentValue: amzDate,
    });
  }
  const scope = formCredential(fields.get('x-amz-credential')!);
  const credential = await identity.credential(scope.accessKeyId, fields.get('x-amz-security-token'));
  if (!credential) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: scope.accessKeyId });
  const policy = fields.get('policy')!;
  const provided = fields.get('x-amz-signature')!;
  const expected = sign(signingKey(credential.secretKey, scope.date, scope.region, scope.service), policy);
  if (!signaturesEqual(expected, provided)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: scope.accessKeyId, StringToSign: policy, SignatureProvided: provided });
  }
  return { credential, signatureVersion: SIGV4_ALGORITHM };
}

/** The credential scope, with the query-string parser's checks but a form field's error. */
function formCredential(value: string): ReturnType<typeof parseCredential> {
  try {
    return parseCredential(value, 'query');
  } catch (e) {
    const detail = e instanceof S3Error ? e.message.replace(/^Error parsing the X-Amz-Credential parameter; /, '') : String(e);
    throw new S3Error('InvalidArgument', detail, { ArgumentName: 'x-amz-credential', ArgumentValue: value });
  }
}

type Condition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { op: 'content-length-range'; min: number; max: number };

export interface PostPolicy {
  expiration: number;
  conditions: Condition[];
}

function invalidPolicy(detail: string): S3Error {
  return new S3Error('InvalidPolicyDocument', `Invalid Policy: ${detail}`);
}

function deniedByPolicy(detail: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${detail}`);
}

/** ISO 8601 with a Z, as the policy's expiration must be ("2007-12-01T12:00:00.000Z"). */
const EXPIRATION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Decodes and checks a policy document; an expired one is AccessDenied, as on S3. */
export function parsePostPolicy(base64: string, now: number): PostPolicy {
  const text = base64.trim();
  if (text === '') throw invalidPolicy("Expecting '{' but found End-of-Input");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw invalidPolicy('invalid Base64 encoding.');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (expiration === undefined) throw invalidPolicy('Policy missing expiration.');
  if (conditions === undefined) throw invalidPolicy('Policy missing conditions.');
  if (typeof expiration !== 'string' || !EXPIRATION.test(expiration) || Number.isNaN(Date.parse(expiration))) {
    throw invalidPolicy(`Invalid 'expiration' value: '${typeof expiration === 'string' ? expiration : JSON.stringify(expiration)}'`);
  }
  if (!Array.isArray(conditions)) throw invalidPolicy("Invalid 'conditions' value: must be a List.");
  const policy = { expiration: Date.parse(expiration), conditions: conditions.map(parseCondition) };
  if (policy.expiration < now) throw deniedByPolicy('Policy expired.');
  return policy;
}

function parseCondition(raw: unknown): Condition {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const entries = Object.entries(raw);
    if (entries.length !== 1) throw invalidPolicy('Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.');
    const [name, value] = entries[0]!;
    if (typeof value !== 'string') throw invalidPolicy('Invalid Simple-Condition: value must be a string.');
    return { op: 'eq', field: name.toLowerCase(), value, text: conditionText('eq', `$${name}`, value) };
  }
  if (!Array.isArray(raw)) throw invalidPolicy('Invalid condition test: must be a List or Object.');
  if (raw.length === 0) throw invalidPolicy('Invalid Condition: missing operation identifier.');
  const op = typeof raw[0] === 'string' ? raw[0].toLowerCase() : undefined;
  if (op !== 'eq' && op !== 'starts-with' && op !== 'content-length-range') {
    throw invalidPolicy(`Invalid Condition: unknown operation '${String(raw[0])}'.`);
  }
  if (raw.length !== 3) throw invalidPolicy(`Invalid ${op}: wrong number of arguments.`);
  if (op === 'content-length-range') {
    const [min, max] = [integer(raw[1]), integer(raw[2])];
    if (min === undefined || max === undefined) throw invalidPolicy('Invalid content-length-range: values must be integers.');
    return { op, min, max };
  }
  const [ref, value] = [raw[1], raw[2]];
  const text = conditionText(op, ref, value);
  if (typeof ref !== 'string' || !ref.startsWith('$') || ref.length === 1) throw deniedByPolicy(`Policy Condition failed: ${text}`);
  if (typeof value !== 'string' && typeof value !== 'number') throw invalidPolicy('Invalid JSON.');
  return { op, field: ref.slice(1).toLowerCase(), value: String(value), text };
}

/** A condition as S3 quotes it in a refusal: `["eq", "$key", "value"]`. */
function conditionText(op: string, ref: unknown, value: unknown): string {
  return `[${[op, ref, value].map((v) => JSON.stringify(v)).join(', ')}]`;
}

function integer(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Fields that need no condition: the signature, the file, the policy, x-ignore-*; in a SigV2
 * form also AWSAccessKeyId and signature. */
function exempt(name: string, v2: boolean): boolean {
  if (v2 && (name === 'awsaccesskeyid' || name === 'signature')) return true;
  return name === 'x-amz-signature' || name === 'file' || name === 'policy' || name.startsWith('x-ignore-');
}

export interface PostInput {
  bucket: string;
  /** The key after ${filename} substitution. */
  key: string;
  fields: FormFields;
}

/** The file sizes a policy allows, bounds included. */
export interface SizeRange {
  min: number;
  max: number;
}

/**
 * Every field must be covered by a condition, every condition must hold, and one condition
 * must name the bucket. Returns the content-length-range, which the file is held to as it
 * streams (its size is known only at its end).
 */
export function evaluatePostPolicy(policy: PostPolicy, input: PostInput): SizeRange {
  const covered = new Set(policy.conditions.map((c) => (c.op === 'content-length-range' ? '' : c.field)));
  const v2 = isV2Form(input.fields);
  const extra = [...input.fields.keys()].filter((name) => !exempt(name, v2) && !covered.has(name));
  if (extra.length) throw deniedByPolicy(`Extra input fields: ${extra.join(', ')}`);
  const range: SizeRange = { min: 0, max: Number.MAX_SAFE_INTEGER };
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') {
      range.min = Math.max(range.min, c.min);
      range.max = Math.min(range.max, c.max);
      continue;
    }
    const actual = c.field === 'bucket' ? input.bucket : c.field === 'key' ? input.key : input.fields.get(c.field);
    if (actual === undefined || !conditionHolds(c.op, c.field, actual, c.value)) throw deniedByPolicy(`Policy Condition failed: ${c.text}`);
  }
  if (!covered.has('bucket')) throw deniedByPolicy('Extra input fields: bucket');
  return range;
}

function conditionHolds(op: 'eq' | 'starts-with', field: string, actual: string, value: string): boolean {
  if (op === 'eq') return actual === value;
  // A Content-Type may list several types; each must start with the prefix.
  if (field === 'content-type') return actual.split(',').every((t) => t.trim().startsWith(value));
  return actual.startsWith(value);
}

export function entityTooLarge(proposed: number, max: number): S3Error {
  return new S3Error('EntityTooLarge', undefined, { ProposedSize: String(proposed), MaxSizeAllowed: String(max) });
}

export function entityTooSmall(proposed: number, min: number): S3Error {
  return new S3Error('EntityTooSmall', undefined, { ProposedSize: String(proposed), MinSizeAllowed: String(min) });
}
